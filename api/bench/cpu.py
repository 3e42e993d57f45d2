"""CPU a bench part used, by whom: this process, its load client, PostgreSQL, the whole machine.

A rate alone does not say whether the service or the database is the limit, nor whether the
machine had CPU to spare. A `CpuWindow` spans one timed part and reports the CPU seconds each
used over it, from Linux's `/proc` (`utime + stime` of each process, the `cpu` line of
`/proc/stat` for the machine):

- `this_process`: the bench process itself (in `bench command` the server under load; in
  `bench append` the writers, the store and the follower);
- `children`: its child processes that ended inside the window (the load client);
- `postgres`: every server process of the database the bench uses, as `pg_stat_activity` lists
  them at the start and the end (backends, WAL writer, checkpointer…). A backend that ends
  inside the window is missed; one that starts inside it counts from its start. None when the
  database runs on another host (its processes are not this machine's) or `/proc` is missing;
- `machine`: all CPUs' busy time (user, nice, system, irq, softirq), whoever used it.

Divided by the work done in the window (requests, events), these give CPU per unit of work:
what a faster rate would cost, and whether the machine has it (`os.cpu_count()` CPUs).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import asyncpg

_PROC = Path("/proc")
_TICK = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0


def _ticks(pid: int) -> int | None:
    """utime + stime of a live process, in clock ticks; None if it is gone or unreadable."""
    try:
        fields = (_PROC / str(pid) / "stat").read_bytes().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])  # fields 14 and 15; the remainder starts at field 3


def _is_postgres(pid: int) -> bool:
    try:
        return (_PROC / str(pid) / "comm").read_text().strip() == "postgres"
    except OSError:
        return False


def _machine_busy() -> int | None:
    try:
        line = (_PROC / "stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in line[1:8])
    return user + nice + system + irq + softirq


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

    def __init__(self, dsn: str, postgres: dict[int, int], busy: int | None) -> None:
        self._dsn = dsn
        self._postgres = postgres
        self._busy = busy
        self._own, self._children = _usage()
        self._started = time.perf_counter()

    @classmethod
    async def start(cls, dsn: str) -> CpuWindow:
        postgres = {pid: t for pid in await _postgres_pids(dsn) if (t := _ticks(pid)) is not None}
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
            ticks = ((pid, _ticks(pid)) for pid in pids | set(self._postgres))
            postgres = sum(now - self._postgres.get(pid, 0) for pid, now in ticks if now is not None) / _TICK
        return {
            "seconds": round(seconds, 3),
            "this_process": round(own, 3),
            "children": round(children, 3),
            "postgres": None if postgres is None else round(postgres, 3),
            "machine": None if busy is None or self._busy is None else round((busy - self._busy) / _TICK, 3),
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
