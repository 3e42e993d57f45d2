"""The audit export format (NDJSON) and its offline verification, with `ledger/chain.py`'s hashing.

One JSON object per line, in ledger order:

    {"format":"optin-ledger.audit-export","version":1,"after":0,"prev_hash":"00…"}   header
    {"position":1,"originator_id":…,"originator_version":1,"topic":…,"recorded_at":…,
     "state":"<base64 of the stored bytes>","hash":"<hex>"}                            one per event
    {"end":true,"count":N,"head_hash":"<hex>"}                                        trailer

Each record line carries exactly the fields the chain hashes, so a verifier recomputes every hash
from the file alone. Lines must be in the canonical form this module writes (re-encoding a parsed
line must give the same bytes), so that no edit, not even one that parses to the same values,
goes unnoticed. Personal data is in `state` only as ciphertext: exporting reveals nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import msgspec

from ledger.chain import GENESIS_HASH, ChainRecord, link
from ledger.ports import RecordedEvent

FORMAT = "optin-ledger.audit-export"
VERSION = 1


class ExportHeader(msgspec.Struct, forbid_unknown_fields=True):
    format: str
    version: int
    after: int
    prev_hash: str


class Record(msgspec.Struct, forbid_unknown_fields=True):
    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    recorded_at: datetime
    state: bytes
    hash: str


class Trailer(msgspec.Struct, forbid_unknown_fields=True):
    end: bool
    count: int
    head_hash: str


_encoder = msgspec.json.Encoder()


def header_line(after: int, prev_hash: bytes) -> bytes:
    return _encoder.encode(ExportHeader(FORMAT, VERSION, after, prev_hash.hex())) + b"\n"


def record_line(event: RecordedEvent) -> bytes:
    record = Record(
        position=event.notification_id,
        originator_id=event.originator_id,
        originator_version=event.originator_version,
        topic=event.topic,
        recorded_at=event.recorded_at,
        state=bytes(event.state),
        hash=bytes(event.hash).hex(),
    )
    return _encoder.encode(record) + b"\n"


def trailer_line(count: int, head_hash: bytes) -> bytes:
    return _encoder.encode(Trailer(True, count, head_hash.hex())) + b"\n"


@dataclass(frozen=True, slots=True)
class Verdict:
    """`ok`, or the first bad line (1-based) and record position where known, and why."""

    ok: bool
    records: int
    head_hash: str | None = None
    line: int | None = None
    position: int | None = None
    reason: str | None = None


class _BadLineError(Exception):
    def __init__(self, line: int, reason: str, position: int | None = None) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason
        self.position = position


S = TypeVar("S", ExportHeader, Record, Trailer)


def _parse(cls: type[S], raw: bytes, line: int) -> S:
    try:
        value = msgspec.json.decode(raw, type=cls)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as e:
        raise _BadLineError(line, f"not a valid {cls.__name__.lower()} line: {e}") from e
    if _encoder.encode(value) != raw:
        raise _BadLineError(line, "not in canonical form (edited?)")
    return value


def _hash(text: str, line: int, position: int | None = None) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError as e:
        raise _BadLineError(line, "hash is not hexadecimal", position) from e
    if len(value) != 32 or value.hex() != text:
        raise _BadLineError(line, "hash is not 64 lower-case hex digits", position)
    return value


class _Verifier:
    """Reads an export line by line, keeping only the previous hash: any size fits in memory."""

    def __init__(self) -> None:
        self.prev_hash: bytes | None = None
        self.expected = 0
        self.count = 0
        self.closed = False

    def feed(self, line: int, raw: bytes) -> None:
        if self.prev_hash is None:
            self._header(line, raw)
        elif self.closed:
            raise _BadLineError(line, "text after the closing line")
        elif raw.startswith(b'{"end"'):
            self._trailer(line, raw)
        else:
            self._record(line, raw)

    def _header(self, line: int, raw: bytes) -> None:
        header = _parse(ExportHeader, raw, line)
        if header.format != FORMAT or header.version != VERSION:
            raise _BadLineError(line, f"not an audit export of format {FORMAT} version {VERSION}")
        self.prev_hash = _hash(header.prev_hash, line)
        if header.after == 0 and self.prev_hash != GENESIS_HASH:
            raise _BadLineError(line, "a full export must start from the all-zero hash")
        self.expected = header.after + 1

    def _record(self, line: int, raw: bytes) -> None:
        record = _parse(Record, raw, line)
        stored = _hash(record.hash, line, record.position)
        if record.position != self.expected:
            raise _BadLineError(line, f"expected position {self.expected}", record.position)
        assert self.prev_hash is not None
        if link(self.prev_hash, _chain_record(record)) != stored:
            raise _BadLineError(line, "hash does not match the record", record.position)
        self.prev_hash = stored
        self.expected += 1
        self.count += 1

    def _trailer(self, line: int, raw: bytes) -> None:
        end = _parse(Trailer, raw, line)
        if not end.end or end.count != self.count or _hash(end.head_hash, line) != self.prev_hash:
            raise _BadLineError(line, "the closing line does not match the records")
        self.closed = True


class ExportVerifier:
    """`verify_export` fed as lines arrive (from a stream, a file, the database), in constant
    memory: feed every line, then ask for the verdict; feeding stops mattering after a break."""

    def __init__(self) -> None:
        self._verifier = _Verifier()
        self._line = 0
        self._broken: Verdict | None = None

    def feed(self, raw: bytes) -> None:
        if self._broken is not None:
            return
        self._line += 1
        try:
            self._verifier.feed(self._line, raw[:-1] if raw.endswith(b"\n") else raw)
        except _BadLineError as e:
            self._broken = Verdict(
                False, self._verifier.count, line=e.line, position=e.position, reason=e.reason
            )

    @property
    def broken(self) -> bool:
        return self._broken is not None

    def verdict(self) -> Verdict:
        verifier = self._verifier
        if self._broken is not None:
            return self._broken
        if verifier.prev_hash is None:
            return Verdict(False, 0, line=1, reason="the file is empty")
        if not verifier.closed:
            return Verdict(
                False, verifier.count, line=self._line + 1, reason="the closing line is missing (cut short?)"
            )
        return Verdict(True, verifier.count, head_hash=verifier.prev_hash.hex())


def verify_export(lines: Iterable[bytes]) -> Verdict:
    """Recompute the chain of an export; name the first line (and record) that does not verify."""
    verifier = ExportVerifier()
    for raw in lines:
        verifier.feed(raw)
        if verifier.broken:
            break  # the verdict names the first break; the rest need not be read
    return verifier.verdict()


def _chain_record(record: Record) -> ChainRecord:
    return ChainRecord(
        notification_id=record.position,
        originator_id=record.originator_id,
        originator_version=record.originator_version,
        topic=record.topic,
        state=record.state,
        recorded_at=record.recorded_at,
    )
