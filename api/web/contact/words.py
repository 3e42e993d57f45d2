"""What a contact reads about their own consent: the one decision's status, in plain words.

The status comes from the consent decision (`projections/own_consents.py`,
`projections/consent_state.py`); this module only says it. "unknown" is never shown to a person.
"""

from __future__ import annotations

from ledger.vocabulary import Channel, ConsentStatus

_MESSAGES = {"email": "emails", "sms": "texts"}


def status_words(status: ConsentStatus | str, channel: Channel | str) -> str:
    """The status as the contact reads it on their preferences and confirmation pages."""
    match status:
        case "opted_in":
            return f"You get these {_MESSAGES.get(channel, 'messages')}"
        case "opted_out":
            return "You don't get these"
        case "pending":
            return "Waiting for your code"
        case _:
            return "Not subscribed"


def change_words(status: ConsentStatus | str, name: str, channel: Channel | str) -> str:
    """What a change did, said once after it (the page's live region announces it)."""
    kind = _MESSAGES.get(channel, "messages")
    if status == "opted_in":
        return f"Done: you now get {name} {kind}."
    return f"Done: you no longer get {name} {kind}."
