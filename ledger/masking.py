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
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_DATE = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})|(\d{1,2})([-/.])(\d{1,2})\6(\d{4})")
_DIGIT = re.compile(r"\d")  # any digit `_PHONE_RUN` would start from, Unicode ones too
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
    if not known and "@" not in text and "＠" not in text and _DIGIT.search(text) is None:
        return text  # no address nor number can be in it (`%40` has digits): most log fields
    for address in known:
        if "@" in address:
            text = _without_email(text, address)
    if "@" in text or "%40" in text or "＠" in text:
        text = _EMAIL_IN_TEXT.sub(lambda m: mask_email(_plain_at(m.group(0))), text)
    numbers = [n for n in (_significant(a) for a in known if "@" not in a) if n]
    # Ids (UUIDs) are kept whole: their leading digits are not a phone number.
    parts = _UUID.split(text)
    ids = _UUID.findall(text)
    masked = [_PHONE_RUN.sub(lambda m: _masked_run(m, numbers), part) for part in parts]
    return "".join(p + (ids[n] if n < len(ids) else "") for n, p in enumerate(masked))


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
    if len(digits) >= _NATIONAL_MIN and not _is_date(run):
        return mask_phone(run)
    return run


def _is_date(run: str) -> bool:
    """A calendar date (2026-11-30, 30.11.2026, 11/30/2026), not a number that looks like one
    (22-45-3300): the year is plausible, a month is 1-12 and a day 1-31."""
    found = _DATE.fullmatch(run)
    if found is None:
        return False
    year, a, b = (found[1], found[3], found[4]) if found[1] else (found[8], found[5], found[7])
    first, second = int(a), int(b)
    return 1900 <= int(year) <= 2199 and 1 <= min(first, second) <= 12 and max(first, second) <= 31


def mask_ip(ip: str) -> str:
    """An IP address shown to staff: enough to tell networks apart, not to find the person
    (`203.0.113.7` → `203.0.*.*`, `2001:db8:1::7` → `2001:db8:*`)."""
    if "." in ip and ":" not in ip:
        parts = ip.split(".")
        return ".".join(parts[:2]) + ".*.*" if len(parts) == 4 else "***"
    groups = [g for g in ip.split(":") if g]
    return ":".join(groups[:2]) + ":*" if len(groups) >= 2 else "***"


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Chromium/", "Chromium"), ("Safari/", "Safari"), ("curl/", "curl"))  # fmt: skip
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"),
            ("Mac OS", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))  # fmt: skip


def mask_user_agent(user_agent: str) -> str:
    """A user agent shown to staff as its browser family and system only (`Chrome on Android`):
    the full string, with its versions and build names, helps single a person out."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "another client"
