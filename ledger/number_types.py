"""Which phone numbers a public code request may text: those that can receive a code.

phonenumbers knows each number's type from the numbering plan. Codes go to `MOBILE` numbers and
to `FIXED_LINE_OR_MOBILE` ones (ranges where the plan cannot tell the two apart, e.g. every
geographic number in the US and Canada). Everything else is refused, as the country allow-list
refuses: premium-rate, toll-free, shared-cost and UAN numbers (the revenue-share ranges SMS
pumping targets), personal "follow-me" numbers, voicemail, fixed lines (no SMS), unknown ranges,
and also `VOIP` and `PAGER`: pagers take no codes, and VoIP ranges are rarely a person's own phone
but often rented by the thousand for pumping and fake sign-ups. Staff and applications may still
send a code to any valid number (their callers are known); only anonymous requests are limited.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

RECEIVES_CODES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_NAMES = {value: name.lower() for name, value in vars(PhoneNumberType).items() if name.isupper()}


def refused_number_type(number: str) -> str | None:
    """None for a number that can receive a code, else its type (`premium_rate`, `toll_free`, …)."""
    kind = phonenumbers.number_type(phonenumbers.parse(number))
    return None if kind in RECEIVES_CODES else _NAMES.get(kind, "unknown")


_SAID = {"voip": "VoIP", "uan": "UAN", "personal_number": "personal (follow-me)", "fixed_line": "landline",
         "unknown": "unallocated"}  # fmt: skip


def refusal_text(kind: str) -> str:
    """What the caller is told: `codes are texted to mobile numbers only, not to toll-free numbers`."""
    return (
        f"codes are texted to mobile numbers only, not to {_SAID.get(kind, kind.replace('_', '-'))} numbers"
    )
