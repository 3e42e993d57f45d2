"""`ledger.ports.ReadModels` for the two ways a process relates to the projection runner.

`FollowingReadModels`: the runner follows the ledger elsewhere (in `serve`, or a `project`
replica); settling waits for its tracking rows. `CatchingUpReadModels`: nothing follows the ledger
(a one-off command such as `users create`); settling applies the named projections itself, under
the same per-projection lock the runner takes, so it is safe beside a running service.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from projections.runner import ProjectionLagError, ProjectionRunner, wait_for_position


class FollowingReadModels:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def settle(self, position: int, names: Sequence[str], timeout: float = 2.0) -> bool:
        try:
            await wait_for_position(self._pool, position, names, timeout)
        except ProjectionLagError:
            return False
        return True


class CatchingUpReadModels:
    def __init__(self, runner: ProjectionRunner) -> None:
        self._runner = runner

    async def settle(self, position: int, names: Sequence[str], timeout: float = 2.0) -> bool:
        for name in names:
            await self._runner.catch_up(self._runner.projections[name])
        return True
