"""The message template aggregate: one kind on one channel, versioned, with the opt-out rules checked.

Every change of subject or body is a new version; a message records the template id and version
it was rendered from, so what was sent can always be traced to the exact text staff approved.
Templates that market (`optin_invite`, `promotional`) must tell the reader how to opt out: SMS
with the STOP keyword, email with the `{{ unsubscribe_url }}` link; a `consent_receipt` must place
the `{{ receipt_url }}` link. Ids are deterministic for the defaults and for a program's own
template of a kind and channel, so no lookup is needed.
"""

from __future__ import annotations

import functools
import re
import uuid
from typing import Literal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import InvalidCommandError, InvalidValueError
from ledger.rendering import placeholders
from ledger.vocabulary import CHANNELS, Actor, Channel, checked_text

TemplateKind = Literal[
    "verification_code",
    "optin_invite",
    "optin_confirmation",
    "transactional",
    "promotional",
    "optout_confirmation",
    "consent_receipt",
]
KINDS: tuple[TemplateKind, ...] = (
    "verification_code",
    "optin_invite",
    "optin_confirmation",
    "transactional",
    "promotional",
    "optout_confirmation",
    "consent_receipt",
)
MARKETING_KINDS: frozenset[TemplateKind] = frozenset({"optin_invite", "promotional"})
SYSTEM_VARIABLES = frozenset(
    {"code", "unsubscribe_url", "program_name", "disclosure", "expires_minutes"}
    | {"receipt_url", "receipt_jws", "consent_change", "ledger_position"}  # consent receipts
)
"""Filled in by the ledger itself; callers may not set them."""

_NEEDS = {"verification_code": "code", "optin_invite": "code", "consent_receipt": "receipt_url"}
_STOP = re.compile(r"\bSTOP\b")
_UNSUBSCRIBE = re.compile(r"\{\{\s*unsubscribe_url\s*\}\}")
_NAMESPACE = uuid.UUID("7e3b1c5a-2f0d-4c1e-9a6b-74656d706c74")
MAX_SMS_BODY = 1600  # the longest SMS providers accept (ten segments and more)
MAX_EMAIL_BODY = 100_000


# Both ids are derived (uuid5: a SHA-1 and a UUID, some microseconds) several times a message,
# for a handful of programs, kinds and channels: derived once each.
@functools.cache
def default_template_id(kind: TemplateKind, channel: Channel) -> UUID:
    return uuid.uuid5(_NAMESPACE, f"/templates/default/{kind}/{channel}")


@functools.lru_cache(maxsize=1024)
def program_template_id(optin_id: UUID, kind: TemplateKind, channel: Channel) -> UUID:
    """A program has at most one template per kind and channel: its id says which."""
    return uuid.uuid5(_NAMESPACE, f"/templates/program/{optin_id}/{kind}/{channel}")


def check_content(kind: TemplateKind, channel: Channel, subject: str | None, body: str) -> None:
    """Refuse content that cannot be rendered or that breaks the opt-out rules."""
    if channel not in CHANNELS:
        raise InvalidValueError(f"unknown channel {channel}")
    limit = MAX_SMS_BODY if channel == "sms" else MAX_EMAIL_BODY
    checked_text(body, "body", max_length=limit, multiline=True)
    used = set(placeholders(body))
    if channel == "email":
        if subject is None:
            raise InvalidValueError("an email template needs a subject")
        checked_text(subject, "subject", max_length=200)
        used |= set(placeholders(subject))
    elif subject is not None:
        raise InvalidValueError("an SMS template has no subject")
    needed = _NEEDS.get(kind)
    if needed and needed not in used:
        raise InvalidValueError(f"a {kind} template must contain {{{{ {needed} }}}}")
    if kind in MARKETING_KINDS:
        if channel == "sms" and not _STOP.search(body):
            raise InvalidValueError("a marketing SMS template must tell how to opt out with the STOP keyword")
        if channel == "email" and not _UNSUBSCRIBE.search(body):
            raise InvalidValueError("a marketing email template must contain the {{ unsubscribe_url }} link")


class Template(Aggregate):
    """A template: `body` is plain text for SMS, HTML for email (with a `subject`)."""

    TOPIC = "template"

    class Created(Aggregate.Created):
        TOPIC = "template.created"
        name: str
        kind: TemplateKind
        channel: Channel
        optin_id: UUID | None
        subject: str | None
        body: str
        is_default: bool
        actor: Actor

    class Revised(Aggregate.Event):
        """New text: a new version (messages name the version they were rendered from)."""

        TOPIC = "template.revised"
        subject: str | None
        body: str
        version: int
        actor: Actor

    class Renamed(Aggregate.Event):
        TOPIC = "template.renamed"
        name: str
        actor: Actor

    class Archived(Aggregate.Event):
        TOPIC = "template.archived"
        actor: Actor

    @event(Created)
    def __init__(
        self,
        *,
        name: str,
        kind: TemplateKind,
        channel: Channel,
        optin_id: UUID | None,
        subject: str | None,
        body: str,
        is_default: bool,
        actor: Actor,
    ) -> None:
        self.name = name
        self.kind: TemplateKind = kind
        self.channel: Channel = channel
        self.optin_id = optin_id
        self.subject = subject
        self.body = body
        self.is_default = is_default
        self.content_version = 1
        self.archived = False

    def revise(self, subject: str | None, body: str, actor: Actor) -> None:
        self._require_active()
        check_content(self.kind, self.channel, subject, body)
        if (subject, body) != (self.subject, self.body):
            self._revised(subject=subject, body=body, version=self.content_version + 1, actor=actor)

    @event(Revised)
    def _revised(self, subject: str | None, body: str, version: int, actor: Actor) -> None:
        self.subject, self.body, self.content_version = subject, body, version

    def rename(self, name: str, actor: Actor) -> None:
        self._require_active()
        checked_text(name, "name", max_length=120)
        if name != self.name:
            self._renamed(name=name, actor=actor)

    @event(Renamed)
    def _renamed(self, name: str, actor: Actor) -> None:
        self.name = name

    def archive(self, actor: Actor) -> None:
        if self.is_default:
            raise InvalidCommandError("a default template cannot be archived (it is the last fallback)")
        if not self.archived:
            self._archived(actor=actor)

    @event(Archived)
    def _archived(self, actor: Actor) -> None:
        self.archived = True

    def _require_active(self) -> None:
        if self.archived:
            raise InvalidCommandError("the template is archived")


def create_template(
    *,
    name: str,
    kind: TemplateKind,
    channel: Channel,
    subject: str | None,
    body: str,
    actor: Actor,
    optin_id: UUID | None = None,
    is_default: bool = False,
) -> Template:
    """A new template; a program's template gets the id reserved for its kind and channel."""
    checked_text(name, "name", max_length=120)
    check_content(kind, channel, subject, body)
    if is_default:
        template_id = default_template_id(kind, channel)
    elif optin_id is not None:
        template_id = program_template_id(optin_id, kind, channel)
    else:
        template_id = uuid.uuid4()
    return Template._create(
        Template.Created,
        id=template_id,
        name=name,
        kind=kind,
        channel=channel,
        optin_id=optin_id,
        subject=subject,
        body=body,
        is_default=is_default,
        actor=actor,
    )
