"""Importing consent on real PostgreSQL: provenance kept and never shown as verified, opt-outs at
once, bad rows reported by line and nothing changed, re-runs change nothing, dry runs write nothing."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest

from adapters.import_files import FileImports
from adapters.import_workers import Parallel
from adapters.postgres.event_store import PostgresEventStore
from ledger.address import normalise
from ledger.application.channel_preferences import ChannelPreferences
from ledger.application.contacts import ContactRegistry
from ledger.application.imports import ImportReport
from ledger.consent import Consent, Evidence, consent_id
from ledger.program import new_program
from ledger.send_policy import consent_now
from ledger.vocabulary import Actor
from projections.programs import ProgramsProjection
from projections.runner import ProjectionRunner
from tests import pii
from tests.conftest import INDEX_KEY, KEK

pytestmark = pytest.mark.integration
ADMIN = Actor(kind="user", id="admin-1")
HEADER = "address,channel,program,status,when,source,evidence\n"


async def programs(registry: ContactRegistry, pool: asyncpg.Pool) -> tuple[UUID, UUID]:
    offers = new_program(
        name="Offers",
        description="",
        purpose="marketing",
        channels=("sms", "email"),
        disclosure="d",
        actor=ADMIN,
    )
    news = new_program(
        name="News", description="", purpose="marketing", channels=("email",), disclosure="d", actor=ADMIN
    )
    await registry.repository.save(offers, news)
    runner = ProjectionRunner(pool, [ProgramsProjection()])
    await runner.catch_up(runner.projections["optins"])
    return offers.id, news.id


async def run(
    pool: asyncpg.Pool, store: PostgresEventStore, path: Path, *, dry_run: bool = False
) -> ImportReport:
    return await FileImports(pool, store, KEK, INDEX_KEY).run(path, ADMIN, dry_run=dry_run)


async def test_an_import_applies_with_provenance_and_a_rerun_changes_nothing(
    registry: ContactRegistry, pool: asyncpg.Pool, store: PostgresEventStore, tmp_path: Path
) -> None:
    offers, _ = await programs(registry, pool)
    a, b, c = pii.email(), pii.phone(), pii.email()
    path = tmp_path / "consents.csv"
    path.write_text(
        HEADER
        + f"{a},email,Offers,opted_in,2024-05-01T10:00:00Z,web form,ticked box on signup page\n"
        + f'{b},sms,{offers},opted_in,2024-05-02T10:00:00+02:00,pos,"keyword JOIN, shop 12"\n'
        + f"{c},email,Offers,opted_out,2024-05-03T10:00:00Z,complaint,\n"
    )
    report = await run(pool, store, path)
    assert report.valid and report.applied and report.rows == 3
    assert report.outcomes == {"opted_in": 2, "opted_out": 1}
    contact = await registry.find(normalise("email", a))
    assert contact is not None
    decision = await consent_now(store, registry.repository.mapper, contact, offers, "email")
    assert (decision.status, decision.topic) == ("opted_in", "consent.granted")
    consent = await registry.repository.get(Consent, consent_id(contact, offers, "email"))
    events = await store.read_stream(consent.id)
    granted = registry.repository.mapper.to_domain_event(events[-1])
    evidence: Evidence = granted.evidence  # type: ignore[attr-defined]
    assert evidence.source == "import" and evidence.verification_id is None
    assert evidence.imported is not None and evidence.imported.line == 2
    statement = registry.sealer.open(await registry.keys.get(contact), evidence.imported.sealed_statement)
    assert statement is not None and json.loads(statement)["evidence"] == "ticked box on signup page"
    assert b"ticked box" not in events[-1].state and a.encode() not in events[-1].state
    opted_out = await registry.find(normalise("email", c))
    assert opted_out is not None
    assert (
        await consent_now(store, registry.repository.mapper, opted_out, offers, "email")
    ).status == "opted_out"

    head = await store.head()
    again = await run(pool, store, path)
    assert again.outcomes == {"already_imported": 3} and await store.head() == head


async def test_bad_rows_are_reported_by_line_and_change_nothing(
    registry: ContactRegistry, pool: asyncpg.Pool, store: PostgresEventStore, tmp_path: Path
) -> None:
    await programs(registry, pool)
    good = pii.email()
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER
        + f"{good},email,Offers,opted_in,2024-05-01T10:00:00Z,web,box\n"
        + "not-an-address,email,Offers,opted_in,2024-05-01T10:00:00Z,web,box\n"
        + f"{pii.email()},email,Nope,opted_in,2024-05-01T10:00:00Z,web,box\n"
        + f"{pii.email()},email,Offers,opted_in,2024-05-01T10:00:00,web,box\n"
        + f"{pii.email()},email,Offers,opted_in,2024-05-01T10:00:00Z,web,\n"
        + f"{pii.phone()},sms,News,opted_out,2024-05-01T10:00:00Z,web,\n"
        + f"{pii.email()},email,Offers,maybe,2024-05-01T10:00:00Z,web,box\n"
        + f"{pii.email()},email,Offers,opted_in,2999-01-01T00:00:00Z,web,box\n"
        + "only,three,columns\n"
    )
    head, contacts = await store.head(), await pool.fetchval("SELECT count(*) FROM contact_lookup")
    report = await run(pool, store, path)
    assert not report.valid and not report.applied
    assert [p.line for p in report.problems] == [3, 4, 5, 6, 7, 8, 9, 10]
    messages = " | ".join(p.message for p in report.problems)
    for expected in (
        "no such program",
        "time zone",
        "needs its evidence",
        "does not use the sms",
        "status",
        "future",
    ):
        assert expected in messages
    assert "not-an-address" not in messages or "@" not in messages
    assert await store.head() == head
    assert await pool.fetchval("SELECT count(*) FROM contact_lookup") == contacts


async def test_a_dry_run_reports_and_writes_nothing(
    registry: ContactRegistry, pool: asyncpg.Pool, store: PostgresEventStore, tmp_path: Path
) -> None:
    await programs(registry, pool)
    known = pii.email()
    await registry.register(normalise("email", known), ADMIN)
    path = tmp_path / "dry.ndjson"
    rows = [
        {"address": known, "channel": "email", "program": "News", "status": "opted_out",
         "when": "2024-01-01T00:00:00Z"},
        {"address": pii.email(), "channel": "email", "program": "News", "status": "opted_in",
         "when": "2024-01-01T00:00:00Z", "source": "crm", "evidence": "double opt-in 2023"},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    head, contacts = await store.head(), await pool.fetchval("SELECT count(*) FROM contact_lookup")
    report = await run(pool, store, path, dry_run=True)
    assert report.format == "ndjson" and report.valid and not report.applied
    assert report.outcomes == {"opted_out": 1, "opted_in": 1}
    assert await store.head() == head
    assert await pool.fetchval("SELECT count(*) FROM contact_lookup") == contacts


async def test_an_import_never_lifts_a_stop_nor_overrides_a_later_decision(
    registry: ContactRegistry, pool: asyncpg.Pool, store: PostgresEventStore, tmp_path: Path
) -> None:
    offers, news = await programs(registry, pool)
    stopped, later = pii.phone(), pii.email()
    stopped_id = (await registry.register(normalise("sms", stopped), ADMIN)).contact_id
    prefs = ChannelPreferences(registry.repository, lambda: _ids(offers, news))
    stop = Evidence(actor=Actor(kind="contact"), source="sms_keyword", keyword="STOP")
    await registry.repository.save(*await prefs.opt_out_everywhere(stopped_id, "sms", stop))
    path = tmp_path / "old.csv"
    path.write_text(
        HEADER
        + f"{stopped},sms,Offers,opted_in,2024-01-01T00:00:00Z,pos,keyword JOIN\n"
        + f"{later},email,News,opted_out,2024-01-01T00:00:00Z,crm,\n"
        + f"{later},email,News,opted_in,2023-01-01T00:00:00Z,crm,old signup\n"
    )
    report = await run(pool, store, path)
    assert report.outcomes == {"channel_opted_out": 1, "opted_out": 1, "superseded": 1}
    assert (
        await consent_now(store, registry.repository.mapper, stopped_id, offers, "sms")
    ).status == "opted_out"


async def _ids(*ids: UUID) -> list[UUID]:
    return list(ids)


async def test_a_file_applied_by_two_processes_gives_the_same_result(
    registry: ContactRegistry,
    pool: asyncpg.Pool,
    store: PostgresEventStore,
    tmp_path: Path,
    database_url: str,
) -> None:
    offers, _ = await programs(registry, pool)
    people = [pii.email() for _ in range(40)]
    lines = [f"{p},email,Offers,opted_in,2024-05-01T10:00:00Z,web,box {n}\n" for n, p in enumerate(people)]
    # The same contacts again, later: opt-outs that must follow their own opt-in, whichever process.
    lines += [f"{p},email,Offers,opted_out,2024-06-01T10:00:00Z,crm,\n" for p in people[:10]]
    path = tmp_path / "two.csv"
    path.write_text(HEADER + "".join(lines))
    parallel = Parallel(database_url, "optin_app", None, workers=2, min_rows=0)
    report = await FileImports(pool, store, KEK, INDEX_KEY).run(path, ADMIN, dry_run=False, parallel=parallel)
    assert report.applied and report.outcomes == {"opted_in": 40, "opted_out": 10}
    mapper = registry.repository.mapper
    for n, person in enumerate(people):
        contact = await registry.find(normalise("email", person))
        assert contact is not None
        expected = "opted_out" if n < 10 else "opted_in"
        assert (await consent_now(store, mapper, contact, offers, "email")).status == expected
    head = await store.head()
    again = await FileImports(pool, store, KEK, INDEX_KEY).run(path, ADMIN, dry_run=False, parallel=parallel)
    assert again.outcomes == {"already_imported": 50} and await store.head() == head
