"""The one masking rule for addresses shown to anyone but their owner (API, logs, exports, pages).

Email: first letter of the local part, first letter of the domain and its last label:
`john@example.com` → `j***@e***.com`. Phone (E.164): the country calling code and the last three
digits: `+447911123123` → `+44*******123`. Free text is scrubbed of anything that looks like either.
"""

from __future__ import annotations

import re

import phonenumbers

_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
# E.164-looking numbers, and long bare digit runs that could be a national phone number.
_PHONE_IN_TEXT = re.compile(r"(?<![\w-])(?:\+|%2B)\d[\d ().\-]{5,}\d|(?<![\w.:-])\d{10,15}(?![\w-])")


def mask_email(address: str) -> str:
    local, _, domain = address.rpartition("@")
    if not local or not domain:
        return "***"
    labels = domain.split(".")
    tld = labels[-1] if len(labels) > 1 else ""
    return f"{local[0]}***@{domain[0]}***" + (f".{tld}" if tld else "")


def mask_phone(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    if len(digits) < 6:
        return "***"
    code = ""
    if number.strip().startswith(("+", "%2B")):
        try:
            code = str(phonenumbers.parse("+" + digits).country_code)
        except phonenumbers.NumberParseException:
            code = digits[:1]
    rest = digits[len(code) :]
    return f"+{code}" * bool(code) + "*" * (len(rest) - 3) + rest[-3:]


def mask_address(address: str) -> str:
    """Mask an email address or a phone number, whichever it is."""
    return mask_email(address) if "@" in address else mask_phone(address)


def scrub(text: str) -> str:
    """Replace every email address or phone number inside free text by its mask."""
    text = _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group(0).replace("%40", "@")), text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0).replace("%2B", "+")), text)
