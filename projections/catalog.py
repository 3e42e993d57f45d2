"""Every projection the service runs, by name (what `optin-ledger replay NAME` accepts)."""

from __future__ import annotations

from projections.optins import OptInsProjection
from projections.projection import Projection
from projections.users import UsersProjection


def all_projections() -> list[Projection]:
    return [OptInsProjection(), UsersProjection()]
