"""`audit verify FILE`: recompute the hash chain of an audit export offline."""

from __future__ import annotations

import sys
from pathlib import Path

from ledger.audit_export import verify_export


def verify(path: Path) -> int:
    """0 when every record verifies; 1 naming the first bad line and record; 2 if unreadable."""
    try:
        with sys.stdin.buffer if str(path) == "-" else path.open("rb") as lines:
            verdict = verify_export(lines)
    except OSError as e:
        print(f"optin-ledger: cannot read {path}: {e.strerror}", file=sys.stderr)
        return 2
    if verdict.ok:
        print(f"ok: {verdict.records} records verified; head hash {verdict.head_hash}")
        return 0
    where = f"line {verdict.line}" + (f" (position {verdict.position})" if verdict.position else "")
    print(f"FAILED at {where}: {verdict.reason}; {verdict.records} records verified before it")
    return 1
