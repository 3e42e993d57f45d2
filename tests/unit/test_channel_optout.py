"""The channel-wide opt-out (SMS STOP, "unsubscribe from everything"): given, when, then."""

from __future__ import annotations

import uuid

from ledger.channel_optout import ChannelOptOut, channel_optout_id, open_channel_optout
from ledger.consent import Evidence
from ledger.vocabulary import Actor
from tests.unit.world import given, then

CONTACT = uuid.uuid4()
STOP = Evidence(actor=Actor(kind="contact", id=str(CONTACT)), source="sms_keyword", keyword="STOP")
START = Evidence(actor=Actor(kind="contact", id=str(CONTACT)), source="sms_keyword", keyword="START")


def opted_out(withdrawn: tuple[uuid.UUID, ...]) -> ChannelOptOut:
    optout = open_channel_optout(CONTACT, "sms")
    optout.opt_out(withdrawn, STOP)
    return given(optout)


def test_one_stream_per_contact_and_channel() -> None:
    optout = open_channel_optout(CONTACT, "sms")
    assert optout.id == channel_optout_id(CONTACT, "sms") != channel_optout_id(CONTACT, "email")
    assert (then(optout), optout.opted_out) == (["channel.opened"], False)


def test_an_opt_out_remembers_the_programs_it_withdrew_and_counts_once() -> None:
    programs = (uuid.uuid4(), uuid.uuid4())
    optout = given(open_channel_optout(CONTACT, "sms"))
    optout.opt_out(list(programs), STOP)
    assert then(optout) == ["channel.opted_out"]
    assert (optout.opted_out, optout.withdrawn) == (True, programs)
    optout.opt_out([uuid.uuid4()], STOP)
    assert (then(optout), optout.withdrawn) == ([], programs)


def test_resubscribing_lifts_the_opt_out_once() -> None:
    optout = opted_out((uuid.uuid4(),))
    optout.resubscribe(START)
    assert then(optout) == ["channel.resubscribed"]
    assert (optout.opted_out, optout.withdrawn) == (False, ())
    optout.resubscribe(START)
    assert then(optout) == []
