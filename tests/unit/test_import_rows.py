"""Import rows, line by line: what a good row becomes, and every way a row is refused, by line."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from ledger.errors import InvalidValueError
from ledger.import_rows import ImportRow, RowProblem, parse_row, read_csv, read_ndjson
from ledger.vocabulary import Channel

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OFFERS = uuid.uuid4()
HEADER = "address,channel,program,status,when,source,evidence"


def resolve(program: str, channel: Channel) -> uuid.UUID:
    if program in ("Offers", str(OFFERS)):
        return OFFERS
    raise InvalidValueError("no such program")


def parsed(lines: list[str]) -> list[ImportRow | RowProblem]:
    return [f if isinstance(f, RowProblem) else parse_row(n, f, resolve, NOW) for n, f in read_csv(lines)]


def test_a_good_csv_row() -> None:
    [row] = parsed(
        [HEADER, 'A@Example.org,email,Offers,opted_in,2025-05-01T10:00:00+02:00,web,"box, ticked"']
    )
    assert isinstance(row, ImportRow)
    assert (row.line, row.address.value, row.optin_id, row.status) == (2, "a@example.org", OFFERS, "opted_in")
    assert row.when == datetime(2025, 5, 1, 8, 0, tzinfo=UTC) and row.evidence == "box, ticked"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("x@example.org,fax,Offers,opted_in,2025-05-01T10:00:00Z,web,box", "channel must be"),
        ("x@example.org,email,Offers,maybe,2025-05-01T10:00:00Z,web,box", "status must be"),
        ("x@example.org,email,Offers,opted_in,yesterday,web,box", "ISO 8601"),
        ("x@example.org,email,Offers,opted_in,2025-05-01T10:00:00,web,box", "time zone"),
        ("x@example.org,email,Offers,opted_in,2027-01-01T00:00:00Z,web,box", "future"),
        ("x@example.org,email,Offers,opted_in,2025-05-01T10:00:00Z,web,", "needs its evidence"),
        ("x@example.org,email,Nope,opted_in,2025-05-01T10:00:00Z,web,box", "no such program"),
        ("not-an-email,email,Offers,opted_in,2025-05-01T10:00:00Z,web,box", "@-sign"),
        ("+1 415 555 0123,email,Offers,opted_out,2025-05-01T10:00:00Z,web,", "@-sign"),
        ("x@example.org,email,Offers,opted_in", "expected 7 columns"),
    ],
)
def test_bad_rows_name_their_line_and_never_quote_an_address(line: str, problem: str) -> None:
    [row] = parsed([HEADER, line])
    assert isinstance(row, RowProblem) and row.line == 2 and problem in row.message
    assert "x@example.org" not in row.message


def test_a_wrong_header_is_line_one() -> None:
    assert parsed(["email,channel", "a,b"]) == [RowProblem(1, f"the header must be exactly: {HEADER}")]


def test_ndjson_rows_and_their_problems() -> None:
    good = {"address": "+14155550123", "channel": "sms", "program": str(OFFERS), "status": "opted_out",
            "when": "2025-05-01T10:00:00Z"}  # fmt: skip
    lines = [
        json.dumps(good),
        "",
        "not json",
        json.dumps({**good, "colour": "red"}),
        json.dumps({**good, "when": 5}),
    ]
    found = [f if isinstance(f, RowProblem) else parse_row(n, f, resolve, NOW) for n, f in read_ndjson(lines)]
    assert isinstance(found[0], ImportRow) and found[0].address.value == "+14155550123"
    assert found[1] == RowProblem(3, "not a JSON object")
    assert (
        isinstance(found[2], RowProblem)
        and found[2].line == 4
        and "unknown columns: colour" in found[2].message
    )
    assert isinstance(found[3], RowProblem) and found[3].line == 5 and "must be text" in found[3].message
