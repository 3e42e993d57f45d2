"""Rendering `{{ variable }}` templates per channel, and the length of an SMS in segments.

Email bodies are HTML: every value is HTML-escaped, so a variable can never inject markup; the
plain-text alternative is derived from the rendered HTML. SMS and subjects are plain text. A
placeholder without a value is an error (`MissingVariableError`, HTTP 422), never a blank.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Literal

import msgspec

from ledger.errors import InvalidValueError
from ledger.vocabulary import Channel

NAME = r"[A-Za-z_][A-Za-z0-9_]{0,63}"
_PLACEHOLDER = re.compile(r"\{\{\s*(" + NAME + r")\s*\}\}")
_BRACES = re.compile(r"\{\{|\}\}")


class MissingVariableError(InvalidValueError):
    """A template needs variables the caller did not give."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__("missing template variables: " + ", ".join(missing))
        self.missing = missing


def placeholders(text: str) -> list[str]:
    """The variable names `text` uses, in first-use order; stray braces are refused."""
    if _BRACES.search(_PLACEHOLDER.sub("", text)):
        raise InvalidValueError("the template has a '{{' or '}}' that is not a {{ variable }} placeholder")
    return list(dict.fromkeys(m.group(1) for m in _PLACEHOLDER.finditer(text)))


def substitute(text: str, variables: Mapping[str, str], *, escape: bool) -> str:
    """`text` with every placeholder replaced; `MissingVariableError` names all that lack a value."""
    missing = [name for name in placeholders(text) if name not in variables]
    if missing:
        raise MissingVariableError(missing)

    def value(match: re.Match[str]) -> str:
        raw = variables[match.group(1)]
        return html.escape(raw, quote=True) if escape else raw

    return _PLACEHOLDER.sub(value, text)


# GSM 03.38: the basic table costs one septet a character, the extension table two (escape + char).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


class SmsLength(msgspec.Struct, frozen=True, kw_only=True):
    """How an SMS travels: GSM-7 (160 septets, 153 per part) or UCS-2 (70 units, 67 per part)."""

    encoding: Literal["GSM-7", "UCS-2"]
    characters: int
    units: int
    segments: int


def sms_length(text: str) -> SmsLength:
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        units = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2  # characters outside the BMP take two units
        single, part, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else math.ceil(units / part)
    return SmsLength(encoding=encoding, characters=len(text), units=units, segments=segments)  # type: ignore[arg-type]


class Rendered(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A message ready to send: `text` always; `subject` and `html` for email; `sms` for SMS."""

    text: str
    subject: str | None = None
    html: str | None = None
    sms: SmsLength | None = None


def render(channel: Channel, subject: str | None, body: str, variables: Mapping[str, str]) -> Rendered:
    """Render a template's subject and body for `channel` with `variables`."""
    if channel == "sms":
        text = substitute(body, variables, escape=False)
        return Rendered(text=text, sms=sms_length(text))
    page = substitute(body, variables, escape=True)
    # A header cannot hold line breaks: a value with one must not start a new header.
    title = " ".join(substitute(subject or "", variables, escape=False).split())
    return Rendered(text=html_to_text(page), subject=title, html=page)


class _Text(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head"):
            self._skip += 1
        if tag in self._BREAKS:
            self.parts.append("\n")
        href = dict(attrs).get("href") if tag == "a" else None
        if href:
            self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head"):
            self._skip = max(0, self._skip - 1)
        if tag in self._BREAKS:
            self.parts.append("\n")
        if tag == "a" and self.links:
            self.parts.append(f" <{self.links.pop()}>")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(page: str) -> str:
    """A readable plain-text alternative: tags dropped, blocks on their own lines, links kept."""
    parser = _Text()
    parser.feed(page)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
