"""The consent aggregate: given events, when a command, then events (or a refusal)."""

from __future__ import annotations

import uuid

import pytest

from ledger.consent import Consent, Evidence, consent_id, open_consent
from ledger.errors import InvalidCommandError
from ledger.vocabulary import Actor
from tests.unit.world import STAFF, given, then

CONTACT, PROGRAM = uuid.uuid4(), uuid.uuid4()
BY_CONTACT = Actor(kind="contact", id=str(CONTACT))


def proof(verification_id: uuid.UUID | None = None) -> Evidence:
    return Evidence(actor=BY_CONTACT, source="web", verification_id=verification_id or uuid.uuid4())


def opened() -> Consent:
    return given(open_consent(CONTACT, PROGRAM, "email"))


def asked(action: str = "opt_in") -> tuple[Consent, uuid.UUID]:
    consent, code = open_consent(CONTACT, PROGRAM, "email"), uuid.uuid4()
    consent.request(action, code, Evidence(actor=STAFF, source="api"))  # type: ignore[arg-type]
    return given(consent), code


def opted_in() -> Consent:
    consent = open_consent(CONTACT, PROGRAM, "email")
    consent.grant(proof())
    return given(consent)


def test_one_stream_per_contact_program_and_channel() -> None:
    consent = open_consent(CONTACT, PROGRAM, "sms")
    assert consent.id == consent_id(CONTACT, PROGRAM, "sms") != consent_id(CONTACT, PROGRAM, "email")
    assert (consent.status, then(consent)) == ("unknown", ["consent.opened"])


def test_a_request_is_pending_until_decided() -> None:
    consent, code = opened(), uuid.uuid4()
    consent.request("opt_in", code, Evidence(actor=STAFF, source="api"))
    assert then(consent) == ["consent.requested"]
    assert (consent.status, consent.pending, consent.pending_action) == ("pending", code, "opt_in")


def test_a_request_leaves_a_decided_status_in_force() -> None:
    consent = opted_in()
    consent.request("opt_out", uuid.uuid4(), Evidence(actor=STAFF, source="api"))
    assert consent.status == "opted_in"


def test_an_opt_in_needs_proof_of_control_of_the_address() -> None:
    consent = opened()
    with pytest.raises(InvalidCommandError, match="proof"):
        consent.grant(Evidence(actor=STAFF, source="api"))
    assert then(consent) == []


@pytest.mark.parametrize(
    "evidence",
    [proof(), Evidence(actor=BY_CONTACT, source="sms_keyword", keyword="START")],
    ids=["confirmed code", "SMS keyword"],
)
def test_a_confirmed_code_or_a_reply_from_the_phone_grants(evidence: Evidence) -> None:
    consent, _ = asked()
    consent.grant(evidence)
    assert then(consent) == ["consent.granted"]
    assert (consent.status, consent.pending) == ("opted_in", None)


def test_staff_record_an_opt_out_at_once_a_reason_is_optional() -> None:
    consent = opted_in()
    consent.withdraw(Evidence(actor=STAFF, source="admin"))
    assert (then(consent), consent.status) == (["consent.withdrawn"], "opted_out")
    consent.withdraw(Evidence(actor=STAFF, source="admin", sealed_reason=b"sealed"))
    assert then(consent) == ["consent.withdrawn"]


def test_a_contact_opts_out_without_any_proof() -> None:
    consent = opted_in()
    consent.withdraw(Evidence(actor=BY_CONTACT, source="email_one_click"))
    assert (then(consent), consent.status) == (["consent.withdrawn"], "opted_out")


def test_a_closed_code_lapses_its_request_back_to_unknown() -> None:
    consent, code = asked()
    consent.lapse(code)
    assert then(consent) == ["consent.lapsed"]
    assert (consent.status, consent.pending) == ("unknown", None)


def test_a_lapse_keeps_a_decided_status_and_ignores_other_codes() -> None:
    consent, code = asked()
    consent.lapse(uuid.uuid4())
    assert then(consent) == []
    decided = opted_in()
    decided.request("opt_out", code, Evidence(actor=STAFF, source="api"))
    decided.lapse(code)
    assert (then(decided), decided.status) == (["consent.requested", "consent.lapsed"], "opted_in")


def test_every_event_names_its_contact_program_and_channel() -> None:
    consent, code = open_consent(CONTACT, PROGRAM, "email"), uuid.uuid4()
    consent.request("opt_in", code, Evidence(actor=STAFF, source="api"))
    consent.grant(proof(code))
    consent.withdraw(Evidence(actor=BY_CONTACT, source="web"))
    for change in consent.collect_events():
        assert (change.contact_id, change.optin_id, change.channel) == (CONTACT, PROGRAM, "email")  # type: ignore[attr-defined]
