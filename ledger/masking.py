"""The one masking rule for addresses shown to anyone but their owner (API, logs, exports, pages).

Email: first letter of the local part, first letter of the domain and its last label:
`john@example.com` → `j***@e***.com`. Phone (E.164): the country calling code and the last three
digits: `+447911123123` → `+44*******123`. Free text is scrubbed of anything that looks like either:
internationalised addresses (`jürgen.müller@bücher.de`) and their IDNA forms (`xn--bcher-kva.de`),
and numbers in any spelling phonenumbers accepts (`+1 (415) 555-0100`, `0612 34 56 78`,
`030.1234567`, `tel:+44…`). A number written without a country code and shorter than seven digits
cannot be told from an error code or a count; give `scrub` the addresses the text may be about
(the recipient of a failed send) and every spelling of those is masked too, whatever its length.
"""

from __future__ import annotations

import re

import phonenumbers

_AT = r"(?:@|%40|＠)"
_DOT = r"[.。．｡]"  # IDNA treats the ideographic and full-width full stops as dots
# Bounded (RFC 5321: local part ≤ 64 octets, label ≤ 63, so ≤ 9 times that percent-encoded) so that
# long tokens cannot make the scan quadratic.
# `/?=&` are legal in a local part but rare; leaving them out keeps URLs around an address readable.
_LOCAL = r"[^\s@＠<>()\[\]{}\\,;:\"'`/?=&]{1,576}"
_LABEL = r"[^\s@＠<>()\[\]{}\\,;:\"'`.。．｡/?#&=+!|*]{1,567}"
_EMAIL_IN_TEXT = re.compile(f"{_LOCAL}{_AT}{_LABEL}(?:{_DOT}{_LABEL})+", re.IGNORECASE)
# A run of digits with the separators phone numbers are written with, maybe after `+` or `tel:`.
_PHONE_RUN = re.compile(
    r"(?<![\w.:/%+＋\-])(?P<intl>(?:tel:)?(?:\+|＋|%2B) ?)?\(?\d[\d \u00a0().\-/]{0,24}\d(?!\w)",
    re.IGNORECASE,
)
_DATE = re.compile(r"\d{4}([-/.])\d{1,2}\1\d{1,2}|\d{1,2}([-/.])\d{1,2}\2\d{4}")
_NATIONAL_MIN, _INTERNATIONAL_MIN = 7, 6


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
    if number.strip().startswith(("+", "%2B", "＋", "tel:")):
        try:
            code = str(phonenumbers.parse("+" + digits).country_code)
        except phonenumbers.NumberParseException:
            code = digits[:1]
    rest = digits[len(code) :]
    return f"+{code}" * bool(code) + "*" * (len(rest) - 3) + rest[-3:]


def mask_address(address: str) -> str:
    """Mask an email address or a phone number, whichever it is."""
    return mask_email(address) if "@" in address else mask_phone(address)


def scrub(text: str, *known: str) -> str:
    """Replace every email address or phone number inside free text by its mask.

    `known`: addresses the text may quote (e.g. a provider's refusal of a send to that address);
    these are masked in any spelling, even a short national one.
    """
    for address in known:
        if "@" in address:
            text = _without_email(text, address)
    if "@" in text or "%40" in text or "＠" in text:
        text = _EMAIL_IN_TEXT.sub(lambda m: mask_email(_plain_at(m.group(0))), text)
    numbers = [_significant(a) for a in known if "@" not in a]
    return _PHONE_RUN.sub(lambda m: _masked_run(m, [n for n in numbers if n]), text)


def _plain_at(found: str) -> str:
    return re.sub("%40|＠", "@", found, flags=re.IGNORECASE)


def _without_email(text: str, address: str) -> str:
    """Every spelling of one email address masked: as given, with its domain in IDNA form or in
    Unicode, in any case."""
    local, _, domain = address.rpartition("@")
    spellings = {address, f"{local}@{_idna(domain)}", f"{local}@{_unicode(domain)}"}
    pattern = "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
    masked = mask_email(address)
    return re.sub(pattern, lambda _: masked, text, flags=re.IGNORECASE)


def _idna(domain: str) -> str:
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def _unicode(domain: str) -> str:
    try:
        return domain.encode("ascii").decode("idna")
    except UnicodeError:
        return domain


def _significant(number: str) -> str | None:
    """The national significant number of a known phone number: in every spelling of it."""
    try:
        return phonenumbers.national_significant_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return None


def _masked_run(match: re.Match[str], known: list[str]) -> str:
    run = match.group(0)
    digits = re.sub(r"\D", "", run)
    if any(n in digits for n in known):
        return mask_phone(run)
    if match.group("intl"):
        return mask_phone(run) if len(digits) >= _INTERNATIONAL_MIN else run
    if len(digits) >= _NATIONAL_MIN and not _DATE.fullmatch(run):
        return mask_phone(run)
    return run
