"""Retention on the in-memory world: erase what the read model names as idle, close stale codes.

Which contacts are idle and which codes are stale is the read models' question (PostgreSQL, see
tests/integration/test_retention.py); here the finders answer with fixed lists."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from ledger.application.retention import Retention
from ledger.verification import CODE_TTL, Verification
from tests.unit.world import NOBODY, STAFF, World

KEEP = timedelta(days=730)


def retention(world: World, idle: list[UUID], stale: list[UUID]) -> Retention:
    async def idle_contacts(before: datetime, limit: int) -> list[UUID]:
        assert before == world.clock.now() - KEEP
        return idle[:limit]

    async def stale_codes(now: datetime, limit: int) -> list[UUID]:
        return stale[:limit]

    return Retention(
        world.repository, world.registry, world.clock, idle_contacts=idle_contacts, stale_codes=stale_codes
    )


async def test_a_dry_run_lists_and_changes_nothing() -> None:
    world = World()
    contact = await world.contact()
    head = await world.store.head()
    report = await retention(world, [contact], []).run(KEEP, dry_run=True)
    assert (report.erased, report.dry_run) == ([contact], True)
    assert await world.store.head() == head
    assert await world.keys.get(contact) is not None


async def test_idle_contacts_are_erased_and_those_gone_meanwhile_skipped() -> None:
    world = World()
    idle, gone, kept = await world.contact(), await world.contact(), await world.contact()
    await world.registry.erase(gone, STAFF)
    report = await retention(world, [idle, gone], []).run(KEEP)
    assert report.erased == [idle]
    assert (await world.keys.get(idle), await world.erasures.erased()) == (None, [gone, idle])
    assert await world.keys.get(kept) is not None


async def test_a_stale_code_is_closed_and_its_pending_request_lapses() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    asked = await world.flows.request(contact, program.id, "opt_in", STAFF, NOBODY)
    assert asked.verification_id is not None
    world.clock.advance(CODE_TTL)
    report = await retention(world, [], [asked.verification_id]).run(KEEP)
    assert report.expired_codes == [asked.verification_id]
    assert await world.topics_after(asked.position) == ["verification.expired", "consent.lapsed"]
    assert (await world.consent(contact, program)).status == "unknown"


async def test_a_code_still_open_or_already_answered_is_left_alone() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    fresh = await world.flows.request(contact, program.id, "opt_in", STAFF, NOBODY)
    started = await world.flows.start_self_service(contact)
    assert fresh.verification_id and started.verification_id
    await world.flows.confirm(started.verification_id, world.code(started.verification_id), NOBODY)
    head = await world.store.head()
    report = await retention(world, [], [fresh.verification_id, started.verification_id]).run(KEEP)
    assert report.expired_codes == []
    assert await world.store.head() == head
    assert (await world.repository.get(Verification, fresh.verification_id)).open
    assert (await world.consent(contact, program)).status == "pending"
