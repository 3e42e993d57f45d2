"""`bench evidence` (being written)."""

from __future__ import annotations

from typing import Any


async def run(dsn: str, leaves: int, seconds: float, tasks: int, role: str | None) -> dict[str, Any]:
    raise NotImplementedError
