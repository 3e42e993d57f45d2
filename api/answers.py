"""How handlers shape answers: a write's body with its ledger position, a page of rows."""

from __future__ import annotations

from typing import Any, TypeVar

from litestar import Response

T = TypeVar("T")


def one_page(rows: list[T], limit: int) -> tuple[list[T], bool]:
    """Rows fetched with `limit + 1`: the page itself, and whether another follows."""
    return rows[:limit], len(rows) > limit


def written(content: Any, position: int, status_code: int = 201) -> Response[Any]:
    """A write's answer: its body and the ledger position of its last event."""
    return Response(content, status_code=status_code, headers={"Ledger-Position": str(position)})
