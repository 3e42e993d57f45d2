"""The reply to an SMS HELP: who sends these messages and how to reach them, then the help text.

Carriers' rules (the CTIA Messaging Principles and Best Practices) ask that a HELP reply name the
program or brand and give a way to reach it (a phone number, an email address or a web site) besides
the opt-out keyword. The deployment's help text says how to opt out; this adds the other two unless
the text already carries them.
"""

from __future__ import annotations


def help_reply(help_text: str, sender_name: str, contact: str) -> str:
    text = " ".join(help_text.split())
    named = text if text.lower().startswith(sender_name.lower()) else f"{sender_name}: {text}"
    return named if contact.lower() in text.lower() else f"{named} Help: {contact}"
