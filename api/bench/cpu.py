"""CPU a bench part used, by whom: this process, its load client, PostgreSQL, the whole machine.

A rate alone does not say whether the service or the database is the limit, nor whether the
machine had CPU to spare. A `CpuWindow` spans one timed part and reports the CPU seconds each
used over it, as `psutil` reads them (on Linux from `/proc`):

- `this_process`: the bench process itself (in `bench command` the server under load; in
  `bench append` the writers, the store and the follower);
- `children`: its child processes that ended inside the window (the load client);
- `postgres`: every server process of the database the bench uses, as `pg_stat_activity` lists
  them at the start and the end (backends, WAL writer, checkpointer…). A backend that ends
  inside the window is missed; one that starts inside it counts from its start. None when the
  database runs on another host (its processes are not this machine's);
- `machine`: all CPUs' busy time (user, nice, system, irq, softirq), whoever used it.

Divided by the work done in the window (requests, events), these give CPU per unit of work:
what a faster rate would cost, and whether the machine has it (`os.cpu_count()` CPUs).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterable
from typing import Any

import asyncpg
import psutil


def _seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process; None if it is gone or unreadable."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


def _is_postgres(pid: int) -> bool:
    try:
        return psutil.Process(pid).name() == "postgres"
    except psutil.Error:
        return False


def _machine_busy() -> float:
    """All CPUs' busy seconds since boot (user, nice, system, irq, softirq: the last three are
    Linux's, and count as 0 where the system has none)."""
    times = psutil.cpu_times()
    return sum(getattr(times, field, 0.0) for field in ("user", "nice", "system", "irq", "softirq"))


async def _postgres_pids(dsn: str) -> set[int]:
    """The database server's processes on this machine (none when it runs elsewhere)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity")
    finally:
        await conn.close()
    return {pid for (pid,) in rows if _is_postgres(pid)}


class CpuWindow:
    """`window = await CpuWindow.start(dsn)`, the part, then `await window.stop()`."""

    def __init__(self, dsn: str, postgres: dict[int, float], busy: float) -> None:
        self._dsn = dsn
        self._postgres = postgres
        self._busy = busy
        self._own, self._children = _usage()
        self._started = time.perf_counter()

    @classmethod
    async def start(cls, dsn: str) -> CpuWindow:
        postgres = {pid: t for pid in await _postgres_pids(dsn) if (t := _seconds(pid)) is not None}
        return cls(dsn, postgres, _machine_busy())

    async def stop(self) -> dict[str, Any]:
        """CPU seconds used since `start`, by whom, and the window's length in seconds."""
        seconds = time.perf_counter() - self._started
        own, children = _usage()
        own, children = own - self._own, children - self._children
        busy = _machine_busy()
        postgres: float | None = None
        pids = await _postgres_pids(self._dsn)
        if pids or self._postgres:
            used = ((pid, _seconds(pid)) for pid in pids | set(self._postgres))
            postgres = sum(now - self._postgres.get(pid, 0.0) for pid, now in used if now is not None)
        return {
            "seconds": round(seconds, 3),
            "this_process": round(own, 3),
            "children": round(children, 3),
            "postgres": None if postgres is None else round(postgres, 3),
            "machine": round(busy - self._busy, 3),
            "cpus": os.cpu_count(),
        }


def _usage() -> tuple[float, float]:
    """User + system CPU seconds of this process (all its threads), and of its children that
    have ended and been waited for."""
    t = os.times()
    return t.user + t.system, t.children_user + t.children_system


def per_unit(window: dict[str, Any], units: float, scale: float = 1e6) -> dict[str, float | None]:
    """The window's CPU per unit of work (microseconds by default), and the machine's busy
    share (busy CPUs out of `cpus`) over it."""

    def each(key: str) -> float | None:
        value = window[key]
        return None if value is None or units <= 0 else round(value * scale / units, 1)

    busy = window["machine"]
    return {
        "this_process": each("this_process"),
        "children": each("children"),
        "postgres": each("postgres"),
        "machine": each("machine"),
        "busy_cpus": None if busy is None else round(busy / window["seconds"], 2),
    }


def median_each(figures: Iterable[dict[str, float | None]]) -> dict[str, float | None]:
    """Key by key, the median of several rounds' `per_unit` figures (None where none has one)."""
    rounds = list(figures)
    result: dict[str, float | None] = {}
    for key in rounds[0] if rounds else ():
        values = [v for r in rounds if (v := r[key]) is not None]
        result[key] = round(statistics.median(values), 2) if values else None
    return result
