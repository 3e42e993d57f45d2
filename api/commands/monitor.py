"""`audit monitor`: a witness. Keep the last checkpoint seen; accept a new one only if it is signed
by the ledger's key and provably extends the old one (an RFC 9162 consistency proof).

A ledger rewritten behind the service's back, even with its hash chain and its Merkle tree
recomputed and new checkpoints signed, cannot produce that proof: the monitor says so and exits
non-zero. Exit status: 0 consistent (or the first checkpoint, trusted on first use); 1 rollback,
fork or bad signature; 2 the log or the state file could not be read. The verification is the
offline verifier's (verifier/optin_verify.py), so a witness trusts the same small file.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

import httpx

from verifier.optin_verify import Invalid, Key, parse_checkpoint, verify_consistency


class _Unreadable(Exception):
    """The log or the state could not be read: nothing was checked."""


def monitor(url: str, vkey: str, state: Path) -> int:
    try:
        key = Key(vkey)
    except Invalid as e:
        print(f"optin-ledger: bad key: {e}", file=sys.stderr)
        return 2
    base = url.rstrip("/") + "/v1/ledger"
    try:
        with httpx.Client(timeout=10.0, follow_redirects=False) as client:
            return _check(client, base, key, state)
    except _Unreadable as e:
        print(f"optin-ledger: {e}", file=sys.stderr)
        return 2


def _check(client: httpx.Client, base: str, key: Key, state: Path) -> int:
    note = _get(client, f"{base}/checkpoint").text
    try:
        size, root = parse_checkpoint(note, key)
    except Invalid as e:
        print(f"ALERT: the latest checkpoint does not verify: {e}")
        return 1
    previous = _load(state, key)
    if previous is None:
        _save(state, note)
        print(f"ok: first checkpoint, size {size}, root {_b64(root)} (trusted on first use)")
        return 0
    old_size, old_root = previous
    if size < old_size:
        print(f"ALERT: rollback: the log shows size {size}, but checkpoint {old_size} was seen before")
        return 1
    hashes: list[bytes] = []
    if size > old_size:
        body = _get(client, f"{base}/consistency", params={"from": old_size, "to": size}).json()
        hashes = [base64.b64decode(h) for h in body.get("hashes", [])]
    if not verify_consistency(old_size, size, old_root, root, hashes):
        print(
            f"ALERT: fork: checkpoint {size} (root {_b64(root)}) does not extend checkpoint {old_size} "
            f"(root {_b64(old_root)}) seen before: the log's history was rewritten"
        )
        return 1
    _save(state, note)
    print(f"ok: checkpoint {size} (root {_b64(root)}) extends checkpoint {old_size}")
    return 0


def _get(client: httpx.Client, url: str, params: dict[str, int] | None = None) -> httpx.Response:
    try:
        response = client.get(url, params=params)
    except httpx.HTTPError as e:
        raise _Unreadable(f"cannot reach {url}: {e}") from e
    if response.status_code != 200:
        raise _Unreadable(f"{url} answered {response.status_code}")
    return response


def _load(state: Path, key: Key) -> tuple[int, bytes] | None:
    if not state.exists():
        return None
    try:
        return parse_checkpoint(json.loads(state.read_text())["checkpoint"], key)
    except (OSError, ValueError, KeyError, TypeError, Invalid) as e:
        raise _Unreadable(f"the state file {state} is not a checkpoint this key signed: {e}") from e


def _save(state: Path, note: str) -> None:
    """Replace the state atomically: a crash leaves the old checkpoint or the new, never half."""
    state.parent.mkdir(parents=True, exist_ok=True)
    temporary = state.with_name(state.name + ".tmp")
    temporary.write_text(json.dumps({"checkpoint": note}))
    os.replace(temporary, state)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()
