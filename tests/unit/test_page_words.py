"""What people read on the pages: statuses in plain words, events in words, clients masked."""

from __future__ import annotations

from api.web.console.event_words import source_words, what_happened
from api.web.console.history import masked_client
from api.web.contact.words import change_words, status_words
from ledger.masking import mask_ip, mask_user_agent, scrub


def test_a_contact_never_reads_a_status_code() -> None:
    assert status_words("opted_in", "email") == "You get these emails"
    assert status_words("opted_in", "sms") == "You get these texts"
    assert status_words("opted_out", "email") == "You don't get these"
    assert status_words("unknown", "sms") == "Not subscribed"
    assert status_words("pending", "email") == "Waiting for your code"
    assert change_words("opted_out", "Bee news", "sms") == "Done: you no longer get Bee news texts."


def test_events_are_said_in_words_with_the_program_by_name() -> None:
    names = {"p1": "Bee news"}
    granted = {"optin_id": "p1", "channel": "email", "evidence": {"source": "web"}}
    assert what_happened("consent.granted", granted, names) == "Opted in to Bee news by email."
    asked = {"optin_id": "p1", "channel": "sms", "action": "opt_out"}
    assert what_happened("consent.requested", asked, names).startswith("Asked to opt out of Bee news by SMS")
    invite = {"kind": "optin_invite", "channel": "email"}
    assert what_happened("message.requested", invite, names) == "An opt-in invitation was requested by email."
    complaint = {"optin_id": "p1", "channel": "email", "evidence": {"source": "complaint"}}
    assert "reported a message as spam" in what_happened("consent.withdrawn", complaint, names)
    assert what_happened("something.new_here", {}, names) == "Something: new here."
    assert source_words("sms_keyword", "STOP") == "an SMS keyword (STOP)" and source_words(None) is None


def test_clients_are_masked_to_a_network_and_a_browser_family() -> None:
    assert mask_ip("203.0.113.7") == "203.0.*.*" and mask_ip("2001:db8:1::7") == "2001:db8:*"
    assert mask_ip("testclient") == "***"
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1"
    assert mask_user_agent(iphone) == "Safari on iOS"
    edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0"
    assert mask_user_agent(edge) == "Edge on Windows"
    assert mask_user_agent("python-httpx/0.27") == "another client"
    assert masked_client({"ip": "198.51.100.23", "user_agent": iphone}) == "198.51.*.* · Safari on iOS"
    assert masked_client({}) == "not recorded"


def test_a_number_spelled_like_a_date_is_masked_and_a_real_date_is_not() -> None:
    assert scrub("call 22-45-3300") == "call *****300"
    assert scrub("sent on 2026-11-30 and 30/11/2026") == "sent on 2026-11-30 and 30/11/2026"
