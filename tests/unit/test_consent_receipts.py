"""Consent receipts on the in-memory world: which consent events get a message of their own, that
each gets at most one, that nothing goes to an erased contact, and how the send policy treats a
receipt; STOP and START replies carry the receipt link instead of a second message."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from uuid import UUID

from api.auth.receipt_links import ReceiptLinkTokens
from api.auth.tokens import InvalidTokenError
from api.auth.unsubscribe_tokens import UnsubscribeTokens
from ledger.application.channel_preferences import ChannelPreferences
from ledger.application.consent_receipts import ConsentChange, ConsentReceipts
from ledger.application.inbound_sms import InboundSms
from ledger.composer import Composer
from ledger.consent import Consent, Evidence, consent_id
from ledger.decision import ConsentDecision
from ledger.keywords import Keywords
from ledger.message import Basis, Message, reply_message_id
from ledger.send_policy import Refusal, still_allowed
from ledger.vocabulary import Actor, Channel
from tests.unit.world import NOBODY, STAFF, World

LINKS = ReceiptLinkTokens(bytes(32), "https://ledger.test")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
RECEIPT = Basis(rule="consent_receipt", consent_position=7, consent_topic="consent.withdrawn")


class Issuer:
    """Signed receipts by position, as the evidence service would give them (signing is tested
    with the real key in tests/api/test_consent_receipts.py)."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    async def jws_at(self, position: int) -> str | None:
        self.asked.append(position)
        return f"header.claims-{position}.signature"


def composer(world: World) -> Composer:
    return Composer(world.repository, world.sealer, UnsubscribeTokens(bytes(32), "https://ledger.test"))


def receipts(world: World, channels: tuple[Channel, ...] = ("email", "sms")) -> ConsentReceipts:
    return ConsentReceipts(world.registry, composer(world), LINKS, Issuer(), channels=frozenset(channels))


async def consent_events(world: World, after: int = 0) -> list[tuple[int, ConsentChange]]:
    found = []
    for recorded in await world.store.read_after(after, 10_000):
        event = world.repository.mapper.to_domain_event(recorded.stored())
        if isinstance(event, Consent.Granted | Consent.Withdrawn):
            found.append((recorded.notification_id, event))
    return found


def test_a_receipt_goes_after_an_opt_out_but_never_to_the_erased_nor_an_sms_after_stop() -> None:
    out = ConsentDecision("opted_out", T0, 7, "consent.withdrawn")
    assert still_allowed("transactional", "email", RECEIPT, out) is None
    assert still_allowed("transactional", "sms", RECEIPT, out) is None
    archived = ConsentDecision("opted_out", T0, 8, "optin.archived")
    assert still_allowed("transactional", "email", RECEIPT, archived) is None
    erased = ConsentDecision("unknown", T0, 9, "contact.erased")
    for channel in ("email", "sms"):
        assert still_allowed("transactional", channel, RECEIPT, erased) == Refusal(
            reason="contact_erased", position=9
        )
    stopped = ConsentDecision("opted_out", T0, 10, "channel.opted_out")
    assert still_allowed("transactional", "email", RECEIPT, stopped) is None  # "unsubscribe from all"
    assert still_allowed("transactional", "sms", RECEIPT, stopped) == Refusal(
        reason="channel_opted_out", position=10
    )


async def test_an_opt_in_by_code_gets_one_receipt_message_and_a_second_run_adds_none() -> None:
    world = World()
    program, contact = await world.program(), await world.contact("email")
    await world.opted_in(contact, program)
    ((position, granted),) = await consent_events(world)
    service = receipts(world)
    message = await service.deliver(position, granted)
    assert message is not None and message.status == "queued" and message.kind == "consent_receipt"
    assert message.basis is not None
    assert (message.basis.rule, message.basis.consent_position) == ("consent_receipt", position)
    head = await world.store.head()
    assert await service.deliver(position, granted) is None  # the follower ran this event again
    assert await receipts(world).deliver(position, granted) is None  # or another follower did
    assert await world.store.head() == head
    stored = await world.repository.get(Message, message.id)
    assert stored.sealed is not None
    text = world.sealer.open(await world.keys.get(contact), stored.sealed.text)
    assert text is not None and f"header.claims-{position}.signature" in text
    assert LINKS.url(message.id) in text and "opted in to" in text
    assert await service.carried_by(message.id) == (contact, [position])


async def test_keywords_and_complaints_and_channels_turned_off_get_no_message_of_their_own() -> None:
    world = World()
    program, contact = await world.program(), await world.contact("email")
    await world.opted_in(contact, program)
    consent = await world.consent(contact, program)
    consent.withdraw(Evidence(actor=Actor(kind="system", id="fbl"), source="complaint"))
    await world.repository.save(consent)
    (_, (position, complained)) = await consent_events(world)
    assert await receipts(world).deliver(position, complained) is None
    ((granted_at, granted), _) = await consent_events(world)
    assert await receipts(world, channels=("sms",)).deliver(granted_at, granted) is None
    assert "message.requested" not in await world.topics_after(0)


async def test_an_opt_in_by_sms_keyword_gets_no_message_of_its_own() -> None:
    world = World()
    program, phone = await world.program(), world.address("sms")
    contact = (await world.registry.register(phone, STAFF)).contact_id
    await world.flows.request(contact, program.id, "opt_in", STAFF, NOBODY)
    before = await world.store.head()
    await inbound(world).receive(phone, "YES", "SM-1")  # its one reply carries the link instead
    ((position, granted),) = await consent_events(world, before)
    assert granted.evidence.source == "sms_keyword"
    assert await receipts(world).deliver(position, granted) is None
    message, text = await reply_of(world, "SM-1")
    assert message.kind == "optin_confirmation" and LINKS.url(message.id) in text


async def test_an_erased_contact_gets_nothing() -> None:
    world = World()
    program, contact = await world.program(), await world.contact("email")
    await world.opted_in(contact, program)
    ((position, granted),) = await consent_events(world)
    await world.registry.erase(contact, STAFF)
    assert await receipts(world).deliver(position, granted) is None
    assert "message.requested" not in await world.topics_after(0)


async def test_an_sms_receipt_after_the_number_was_opted_out_of_the_channel_is_recorded_blocked() -> None:
    world = World()
    program, contact = await world.program(), await world.contact("sms")
    await world.opted_in(contact, program)
    preferences = ChannelPreferences(world.repository, world.programs)
    carrier = Evidence(actor=Actor(kind="system", id="twilio"), source="provider")
    await world.repository.save(*await preferences.opt_out_everywhere(contact, "sms", carrier))
    (_, (position, withdrawn)) = await consent_events(world)
    message = await receipts(world).deliver(position, withdrawn)
    assert message is not None and (message.status, message.reason) == ("blocked", "channel_opted_out")


def inbound(world: World, *, receipt_line: bool = True) -> InboundSms:
    preferences = ChannelPreferences(world.repository, world.programs)
    return InboundSms(
        world.registry, preferences, composer(world), Keywords(), receipts=LINKS, receipt_line=receipt_line
    )


async def reply_of(world: World, inbound_id: str) -> tuple[Message, str]:
    message = await world.repository.get(Message, reply_message_id(inbound_id))
    assert message.sealed is not None
    text = world.sealer.open(await world.keys.get(message.contact_id), message.sealed.text)
    assert text is not None
    return message, text


async def test_a_stop_that_withdrew_consent_links_its_receipts_in_its_one_reply() -> None:
    world = World()
    first, second, phone = await world.program(), await world.program(), world.address("sms")
    contact = (await world.registry.register(phone, STAFF)).contact_id
    await world.opted_in(contact, first)
    await world.opted_in(contact, second)
    before = await world.store.head()
    await inbound(world).receive(phone, "STOP", "SM-1")
    assert (await world.topics_after(before)).count("message.requested") == 1
    message, text = await reply_of(world, "SM-1")
    assert text.endswith(f" Receipt: {LINKS.url(message.id)}")
    withdrawn = [p for p, e in await consent_events(world, before) if isinstance(e, Consent.Withdrawn)]
    assert len(withdrawn) == 2
    assert await receipts(world).carried_by(message.id) == (contact, withdrawn)
    streams = {r.stream for r in message.basis.receipts} if message.basis else set()
    assert streams == {consent_id(contact, p.id, "sms") for p in (first, second)}


async def test_a_stop_that_withdrew_nothing_or_with_sms_receipts_off_has_no_link() -> None:
    world = World()
    await world.program()
    nobody = world.address("sms")
    await inbound(world).receive(nobody, "STOP", "SM-1")  # no opt-in to withdraw: no receipt
    assert "/r/" not in (await reply_of(world, "SM-1"))[1]
    program, phone = await world.program(), world.address("sms")
    contact = (await world.registry.register(phone, STAFF)).contact_id
    await world.opted_in(contact, program)
    await inbound(world, receipt_line=False).receive(phone, "STOP", "SM-2")
    _, text = await reply_of(world, "SM-2")
    assert "/r/" not in text and "unsubscribed" in text


def test_receipt_links_are_signed_and_name_no_address() -> None:
    message_id = uuid.uuid4()
    token = LINKS.token(message_id)
    assert len(token) == 38 and LINKS.verify(token) == message_id
    other = ReceiptLinkTokens(bytes([1]) * 32, "https://ledger.test")
    for bad in (other.token(message_id), token[:-1] + ("A" if token[-1] != "A" else "B"), "x", token * 2):
        try:
            LINKS.verify(bad)
        except InvalidTokenError:
            continue
        raise AssertionError(f"{bad} was accepted")
    assert UUID(bytes=base64.urlsafe_b64decode(token + "==")[:16]) == message_id  # and nothing else


async def test_a_verified_contacts_own_opt_out_gets_its_receipt() -> None:
    world = World()
    program, contact = await world.program(), await world.contact("email")
    await world.opted_in(contact, program)
    await world.flows.set_own(contact, None, program.id, "opt_out", NOBODY)
    (_, (position, withdrawn)) = await consent_events(world)
    message = await receipts(world).deliver(position, withdrawn)
    assert message is not None and message.status == "queued"
