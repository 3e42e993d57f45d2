"""Consent checks: one (now, or as of a time) and many at once, each item answered on its own.
Requests and codes: `api/routes/consent_requests.py`; the reads: `projections/consent_checks.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, QueryParameter

from adapters.postgres.replica import ReadDatabase
from api.auth.guards import allow
from api.dependencies import READS_ONLY
from api.routes.contacts import AddressText
from api.validation import DATE_TIME, instant, invalid
from ledger.decision import ConsentDecision
from ledger.vocabulary import Channel, ConsentStatus
from projections.consent_checks import ONE_CONTACT, Answers, ConsentChecks

CONSENT_READERS = allow("staff", "service", "auditor")  # also the hot path's (`api/fast_consent.py`)


class ConsentAnswer(msgspec.Struct, frozen=True, kw_only=True):
    status: ConsentStatus
    since: datetime | None = None
    event_id: int | None = None
    event_topic: str | None = None


# The bulk check's structs, a thousand of each a request, are left out of the cyclic garbage
# collector (`gc=False`: they hold only values, never a cycle): a third fewer collections.
class CheckRow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    """Exactly one of `contact_id` and `address`."""

    optin_id: UUID
    channel: Channel
    contact_id: UUID | None = None
    address: AddressText | None = None


class CheckIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    items: Annotated[list[CheckRow], msgspec.Meta(min_length=1, max_length=1000)]


class ItemError(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Why this one item was not answered (the others were): its field, and a 404 or 422 status."""

    key: str
    status: int
    message: str


class CheckOut(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One item's answer, in the request's order: `status`, or `error` (and `status` null)."""

    contact_id: UUID | None
    status: ConsentStatus | None
    since: datetime | None = None
    event_id: int | None = None
    event_topic: str | None = None
    error: ItemError | None = None


def answer_of(decision: ConsentDecision) -> ConsentAnswer:
    return ConsentAnswer(
        status=decision.status, since=decision.since, event_id=decision.position, event_topic=decision.topic
    )


def _items(answers: Answers) -> list[CheckOut]:
    """The answer's items: one `CheckOut` per decision (straight from its fields: a thousand of
    them), then the refused ones' errors in their places."""
    found = answers.contact_ids
    out = [
        CheckOut(contact_id=c, status=status, since=since, event_id=position, event_topic=topic)
        for c, (status, since, position, topic) in zip(found, answers.decisions, strict=True)
    ]
    for n, (field, problem, status) in answers.refused.items():
        error = ItemError(key=field, status=status, message=f"{field}: {problem}")
        out[n] = CheckOut(contact_id=found[n], status=None, error=error)
    return out


def provide_consent_checks(state: State, read_db: NamedDependency[ReadDatabase]) -> ConsentChecks:
    """The consent reads. It takes `read_db` (unused) only so Litestar resolves the two one after
    the other: dependencies resolved side by side cost a task group per request on the hot path."""
    checks: ConsentChecks = state.components.consent_checks
    return checks


class ConsentController(Controller):
    tags = ("consent",)
    dependencies = {"consent_checks": Provide(provide_consent_checks, sync_to_thread=False)}  # noqa: RUF012

    @get(
        "/v1/consent",
        guards=[CONSENT_READERS],
        summary="Consent now, or as of a time",
        opt={"problems": {404: "No program has this id."}},
    )
    async def get_consent(
        self,
        consent_checks: NamedDependency[ConsentChecks],
        read_db: NamedDependency[ReadDatabase],
        optin_id: Annotated[UUID, QueryParameter()],
        channel: Annotated[Channel, QueryParameter()],
        contact_id: Annotated[UUID | None, QueryParameter(description="or `address`")] = None,
        address: Annotated[str | None, QueryParameter(min_length=1, max_length=320)] = None,
        as_of: Annotated[
            str | None,
            QueryParameter(description="with a time zone: answered from the events", schema_extra=DATE_TIME),
        ] = None,
    ) -> ConsentAnswer:
        if (contact_id is None) == (address is None):
            raise invalid("contact_id", ONE_CONTACT)
        at = instant("as_of", as_of, zone=True)
        decision = await consent_checks.one(
            read_db, optin_id, channel, contact_id=contact_id, address=address, as_of=at
        )
        return answer_of(decision)

    @post(
        "/v1/consent/check",
        guards=[allow("staff", "service")],
        status_code=200,
        summary="Bulk check: up to 1,000 items, each answered (or refused) on its own",
        opt=READS_ONLY,
    )
    async def check(
        self,
        data: JSONBody[CheckIn],
        consent_checks: NamedDependency[ConsentChecks],
        read_db: NamedDependency[ReadDatabase],
    ) -> list[CheckOut]:
        return _items(await consent_checks.many(read_db, data.items))
