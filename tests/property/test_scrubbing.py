"""The scrubber: no address survives in free text, whatever its script or spelling.

Emails: internationalised local parts and domains (`jürgen.müller@bücher.de`) and their IDNA forms
(`xn--bcher-kva.de`), percent-encoded in URLs too. Phones: every valid number of every region and
number type phonenumbers knows, in each of its formats (E.164, international, national, RFC 3966)
and re-spelled with spaces, dashes, dots or nothing, as long as phonenumbers still reads it back
as the same number. A national spelling shorter than seven digits cannot be told from an error
code: it is masked when the scrubber is told whose number the text may quote.
"""

from __future__ import annotations

import re
import urllib.parse

import phonenumbers
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat

from ledger.masking import scrub

# Filler is upper-case ASCII without digits, so a lower-case address or a digit in the output can
# only have come from the address itself.
filler = st.sampled_from(
    [
        "",
        "ERROR ",
        "RCPT TO:<",
        "USER ",
        "MAILBOX UNAVAILABLE: ",
        "THE 'TO' NUMBER ",
        "(",
        "https://X.ORG/?TO=",
    ]
)
after = st.sampled_from(["", ">", " IS NOT VALID", ": NO SUCH USER.", ")", "&ID=X", ", RETRY LATER"])

_LETTERS = (
    "abcdefghijklmnopqrstuvwxyzäöüßéèçñøåłžščğıœæ" + "αβγδεζηθ" + "абвгдежзий" + "日本語中文例子电脑" + "अआइ"
)
word = st.text(alphabet=_LETTERS + "0123456789", min_size=1, max_size=12)
local_part = st.lists(word, min_size=1, max_size=3).map(".".join)
label = st.text(alphabet=_LETTERS, min_size=2, max_size=12)
tld = st.sampled_from(["de", "com", "org", "рф", "中国", "io"])


@st.composite
def emails(draw: st.DrawFn) -> tuple[str, str, str]:
    """(address, local part, first domain label); the domain must have an IDNA form."""
    local, labels = draw(local_part), draw(st.lists(label, min_size=1, max_size=2))
    domain = ".".join([*labels, draw(tld)])
    try:
        domain.encode("idna")
    except UnicodeError:
        assume(False)
    return f"{local}@{domain}", local, labels[0]


def spellings(address: str) -> list[str]:
    local, _, domain = address.rpartition("@")
    ascii_domain = domain.encode("idna").decode()
    return [
        address,
        f"{local}@{ascii_domain}",
        address.upper(),
        urllib.parse.quote(address, safe=""),  # %40 and percent-encoded UTF-8, as in a URL
    ]


@settings(max_examples=300)
@given(emails(), st.integers(0, 3), filler, after)
def test_no_internationalised_email_survives(
    found: tuple[str, str, str], spelling: int, before: str, tail: str
) -> None:
    address, local, first_label = found
    spelled = spellings(address)[spelling]
    out = scrub(f"{before}{spelled}{tail}")
    assert spelled not in out
    around = f"{before}{tail}".lower()  # text around the address may hold the same letters
    if len(local) > 1 and local not in around:
        assert local not in out.lower() and local.upper() not in out
    if len(first_label) > 1 and first_label not in around:
        assert first_label not in out.lower()
        assert first_label.encode("idna").decode() not in out.lower()


@given(emails(), filler, after)
def test_a_known_email_is_masked_in_every_spelling(
    found: tuple[str, str, str], before: str, tail: str
) -> None:
    address = found[0]
    text = " / ".join(f"{before}{s}{tail}" for s in spellings(address)[:3])
    out = scrub(text, address)
    assert found[1] not in out.lower() or len(found[1]) == 1
    assert address.rpartition("@")[2].encode("idna").decode() not in out.lower()


_TYPES = [
    t
    for t in vars(phonenumbers.PhoneNumberType).values()
    if isinstance(t, int) and t != phonenumbers.PhoneNumberType.UNKNOWN
]
_EXAMPLES = [
    number
    for region in sorted(phonenumbers.SUPPORTED_REGIONS)
    for kind in _TYPES
    if (number := phonenumbers.example_number_for_type(region, kind)) is not None
]


@st.composite
def numbers(draw: st.DrawFn) -> tuple[phonenumbers.PhoneNumber, str]:
    """A valid number (an example with its last digits changed) and its region."""
    example = draw(st.sampled_from(_EXAMPLES))
    digits = phonenumbers.national_significant_number(example)
    tail = str(draw(st.integers(0, 99))).zfill(2)
    changed = phonenumbers.parse(f"+{example.country_code}{digits[:-2]}{tail}")
    assume(phonenumbers.is_valid_number(changed))
    region = phonenumbers.region_code_for_number(changed)
    assume(region is not None)
    return changed, str(region)


@st.composite
def spelled_numbers(draw: st.DrawFn) -> tuple[phonenumbers.PhoneNumber, str, bool]:
    """(number, a spelling phonenumbers reads back as that number, whether it is international)."""
    number, region = draw(numbers())
    style = draw(st.sampled_from(["E164", "INTERNATIONAL", "NATIONAL", "RFC3966"]))
    spelled = phonenumbers.format_number(number, getattr(PhoneNumberFormat, style))
    if style in ("INTERNATIONAL", "NATIONAL"):
        separator = draw(st.sampled_from([" ", "-", ".", "", "\u00a0"]))
        spelled = spelled.replace(" ", separator)
    assume(phonenumbers.parse(spelled, region) == number)
    return number, spelled, style != "NATIONAL"


def digits_left(out: str) -> int:
    return len(re.sub(r"\D", "", out))


@settings(max_examples=500)
@given(spelled_numbers(), filler, after)
def test_no_phone_number_survives_in_any_format(
    found: tuple[phonenumbers.PhoneNumber, str, bool], before: str, tail: str
) -> None:
    number, spelled, international = found
    digits = digits_left(spelled)
    assume(international or digits >= 7)  # shorter national spellings: see the next test
    out = scrub(f"{before}{spelled}{tail}")
    # What is left: at most the country calling code and the last three digits.
    assert digits_left(out) <= len(str(number.country_code)) + 3, (spelled, out)


@settings(max_examples=500)
@given(spelled_numbers(), filler, after)
def test_a_known_number_is_masked_in_any_format_however_short(
    found: tuple[phonenumbers.PhoneNumber, str, bool], before: str, tail: str
) -> None:
    number, spelled, _ = found
    known = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    out = scrub(f"{before}{spelled}{tail}", known)
    assert digits_left(out) <= len(str(number.country_code)) + 3, (spelled, out)


def test_ids_are_kept_whole() -> None:
    text = "receipt for 19263650-6ac0-4f15-83b9-02a4d06285a4 from +1 201 555 0101"
    assert scrub(text) == "receipt for 19263650-6ac0-4f15-83b9-02a4d06285a4 from +1*******101"


def test_numbers_that_look_like_dates_are_masked_real_dates_kept() -> None:
    assert scrub("call 22-45-3300 now") == "call *****300 now"  # found by hypothesis: no 45th month
    assert scrub("on 2026-11-30, 30.11.2026 and 11/30/2026") == "on 2026-11-30, 30.11.2026 and 11/30/2026"


def test_the_issues_examples() -> None:
    text = "550 5.1.1 <jürgen.müller@bücher.de>: unknown; also jürgen.müller@xn--bcher-kva.de"
    assert scrub(text) == "550 5.1.1 <j***@b***.de>: unknown; also j***@x***.de"
    assert scrub("The 'To' number 06 12 34 56 78 is unreachable (21211)") == (
        "The 'To' number *******678 is unreachable (21211)"
    )
    assert scrub("Island number 211-234", "+597211234") == "Island number ***234"
