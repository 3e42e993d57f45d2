"""Rows of a consent import file (CSV or NDJSON), read one at a time and checked one by one.

Columns: `address`, `channel` (email or sms), `program` (the program's id or exact name),
`status` (`opted_in` or `opted_out`), `when` (ISO 8601 with a time zone, not in the future),
`source` (where the sender's own system got it, free text) and `evidence` (the sender's own
evidence, free text; required for opt-ins). Anything else is refused, naming the line.

Pure: the caller hands in lines (a file read lazily, so memory stays constant) and the
programs it knows; nothing here touches a database.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import msgspec

from ledger.address import Address, normalise
from ledger.errors import InvalidValueError
from ledger.masking import scrub
from ledger.vocabulary import CHANNELS, Channel, checked_text

ImportStatus = Literal["opted_in", "opted_out"]
COLUMNS = ("address", "channel", "program", "status", "when", "source", "evidence")
MAX_SOURCE, MAX_EVIDENCE = 200, 2000
_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    address: Address
    optin_id: UUID
    status: ImportStatus
    when: datetime
    source: str
    evidence: str

    @property
    def channel(self) -> Channel:
        return self.address.channel


@dataclass(frozen=True, slots=True)
class RowProblem:
    """What is wrong with a line (never quoting an address: problems are shown and logged)."""

    line: int
    message: str


Fields = Mapping[str, Any]
Resolve = Callable[[str, Channel], UUID]
"""The program a row names (id or exact name) on its channel; `InvalidValueError` if none."""


def read_csv(lines: Iterable[str]) -> Iterator[tuple[int, Fields | RowProblem]]:
    """(line number, fields) per data row; the header must name exactly the columns."""
    reader = csv.DictReader(iter(lines), strict=True)
    try:
        header = reader.fieldnames
    except csv.Error as e:
        yield 1, RowProblem(1, f"not CSV: {e}")
        return
    if header is None or sorted(h.strip() for h in header) != sorted(COLUMNS):
        yield 1, RowProblem(1, f"the header must be exactly: {','.join(COLUMNS)}")
        return
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield reader.line_num, RowProblem(reader.line_num, f"not CSV: {e}")
            return
        line = reader.line_num
        if None in fields or any(v is None for v in fields.values()):
            yield line, RowProblem(line, f"expected {len(COLUMNS)} columns")
            continue
        yield line, {k.strip(): v for k, v in fields.items()}


_OBJECT = msgspec.json.Decoder(dict[str, Any])


def read_ndjson(lines: Iterable[str]) -> Iterator[tuple[int, Fields | RowProblem]]:
    """(line number, fields) per non-blank line, each one JSON object."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            yield number, _OBJECT.decode(text)
        except (msgspec.DecodeError, msgspec.ValidationError):
            yield number, RowProblem(number, "not a JSON object")


def parse_row(
    line: int, fields: Fields, resolve: Resolve, now: datetime, region: str = "US"
) -> ImportRow | RowProblem:
    """The row, or what is wrong with it."""
    unknown = sorted(set(fields) - set(COLUMNS))
    if unknown:
        return RowProblem(line, f"unknown columns: {', '.join(unknown)}")
    try:
        text = {name: _text(fields, name) for name in COLUMNS}
        channel = text["channel"].strip().lower()
        if channel not in CHANNELS:
            raise InvalidValueError("channel must be email or sms")
        address = normalise(channel, text["address"], default_region=region)
        status = text["status"].strip().lower()
        if status not in ("opted_in", "opted_out"):
            raise InvalidValueError("status must be opted_in or opted_out")
        when = _when(text["when"], now)
        source = checked_text(text["source"].strip() or "-", "source", max_length=MAX_SOURCE)
        evidence = text["evidence"].strip()
        if status == "opted_in" and not evidence:
            raise InvalidValueError("an imported opt-in needs its evidence")
        if evidence:
            checked_text(evidence, "evidence", max_length=MAX_EVIDENCE, multiline=True)
        optin_id = resolve(text["program"].strip(), address.channel)
    except InvalidValueError as e:
        return RowProblem(line, scrub(str(e)))
    return ImportRow(line, address, optin_id, status, when, source, evidence)  # type: ignore[arg-type]


def _text(fields: Fields, name: str) -> str:
    value = fields.get(name)
    if value is None:
        if name in ("source", "evidence"):
            return ""
        raise InvalidValueError(f"{name} is missing")
    if not isinstance(value, str):
        raise InvalidValueError(f"{name} must be text")
    return value


def _when(value: str, now: datetime) -> datetime:
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValueError("when must be an ISO 8601 date and time") from None
    if when.tzinfo is None:
        raise InvalidValueError("when needs a time zone (e.g. 2024-05-01T10:00:00Z)")
    if when > now + _CLOCK_SKEW:
        raise InvalidValueError("when is in the future")
    return when
