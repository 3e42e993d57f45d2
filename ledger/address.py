"""Contact addresses: one email address or one E.164 phone number, normalised before anything else.

Email syntax is checked by `email-validator` (no DNS); the whole address is then lower-cased, so
that `User@Example.COM` and `user@example.com` are one contact: an opt-out must never be
evaded by a change of case. Phone numbers are parsed by `phonenumbers` (a default region for
numbers given without a country code) and must be valid numbers, stored as E.164.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH

from ledger.errors import InvalidValueError
from ledger.masking import mask_address, scrub
from ledger.vocabulary import Channel


@dataclass(frozen=True, slots=True)
class Address:
    """A normalised address on its channel. Its `repr` is masked, so it cannot leak into logs."""

    channel: Channel
    value: str

    def __repr__(self) -> str:
        return f"Address({self.channel}, {mask_address(self.value)})"

    __str__ = __repr__

    @property
    def masked(self) -> str:
        return mask_address(self.value)


def normalise(channel: Channel, raw: str, *, default_region: str = "US") -> Address:
    """The canonical form of `raw` on `channel`, or `InvalidValueError` saying what is wrong."""
    text = raw.strip()
    if not text:
        raise InvalidValueError("the address is empty")
    if len(text) > 320:
        raise InvalidValueError("the address is too long")
    if channel == "email":
        return Address("email", _email(text))
    return Address("sms", _phone(text, default_region))


def _email(text: str) -> str:
    if "@" not in text:
        raise InvalidValueError("an email address needs an @-sign")
    local, _, domain = text.partition("@")
    if "@" not in domain and DOT_ATOM_TEXT.match(local):
        # The common form: a plain ASCII local part, which email-validator takes as it is. Its
        # domain is checked by the library once per domain (imports meet the same few domains
        # over and over); the address's length limits are checked here as the library does.
        checked = _domain(domain)
        if checked is not None:
            normalized, ascii_form = f"{local}@{checked[0]}", f"{local}@{checked[1]}"
            if max(len(text.encode()), len(normalized.encode()), len(ascii_form)) <= EMAIL_MAX_LENGTH:
                return normalized.lower()
    try:  # any other form, and every refusal, from the library on the whole address
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as e:
        raise InvalidValueError(f"not a valid email address: {scrub(str(e))}") from None
    return str(result.normalized).lower()


@functools.lru_cache(maxsize=4096)
def _domain(domain: str) -> tuple[str, str] | None:
    """The domain as email-validator normalises it, and its IDNA ASCII form; None if refused."""
    try:
        result = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return str(result.domain), str(result.ascii_domain)


def _phone(text: str, default_region: str) -> str:
    if "@" in text:
        raise InvalidValueError("the sms channel takes a phone number, not an email address")
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidValueError("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidValueError(
            "not a valid phone number (give the country code, e.g. +44, for numbers outside "
            f"{default_region})"
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
