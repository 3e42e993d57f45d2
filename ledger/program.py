"""The opt-in program aggregate: what a contact can consent to, on which channels, with which text."""

from __future__ import annotations

import hashlib

from eventsourcing.domain import Aggregate, event

from ledger.errors import InvalidCommandError
from ledger.vocabulary import Actor, Channel, Purpose, checked_text


def disclosure_sha256(text: str) -> str:
    """The hex SHA-256 of a disclosure text exactly as shown (UTF-8)."""
    return hashlib.sha256(text.encode()).hexdigest()


class Program(Aggregate):
    """A program a contact can opt into, such as "Weekly offers" by email or SMS."""

    TOPIC = "optin"

    class Created(Aggregate.Created):
        TOPIC = "optin.created"
        name: str
        description: str
        purpose: Purpose
        channels: tuple[Channel, ...]
        disclosure: str
        actor: Actor

    class Renamed(Aggregate.Event):
        TOPIC = "optin.renamed"
        name: str
        actor: Actor

    class Described(Aggregate.Event):
        TOPIC = "optin.described"
        description: str
        actor: Actor

    class ChannelsSet(Aggregate.Event):
        TOPIC = "optin.channels_set"
        channels: tuple[Channel, ...]
        actor: Actor

    class DisclosureChanged(Aggregate.Event):
        TOPIC = "optin.disclosure_changed"
        disclosure: str
        version: int
        actor: Actor

    class Archived(Aggregate.Event):
        TOPIC = "optin.archived"
        actor: Actor

    @event(Created)
    def __init__(
        self,
        *,
        name: str,
        description: str,
        purpose: Purpose,
        channels: tuple[Channel, ...],
        disclosure: str,
        actor: Actor,
    ) -> None:
        self.name = name
        self.description = description
        self.purpose: Purpose = purpose
        self.channels: tuple[Channel, ...] = channels
        self.disclosure = disclosure
        self.disclosure_version = 1
        self.archived = False

    @property
    def disclosure_sha256(self) -> str:
        return disclosure_sha256(self.disclosure)

    def _require_active(self) -> None:
        if self.archived:
            raise InvalidCommandError("the program is archived")

    def rename(self, name: str, actor: Actor) -> None:
        self._require_active()
        checked_text(name, "name", max_length=120)
        if name != self.name:
            self._renamed(name=name, actor=actor)

    @event(Renamed)
    def _renamed(self, name: str, actor: Actor) -> None:
        self.name = name

    def describe(self, description: str, actor: Actor) -> None:
        self._require_active()
        if description:
            checked_text(description, "description", max_length=2000, multiline=True)
        if description != self.description:
            self._described(description=description, actor=actor)

    @event(Described)
    def _described(self, description: str, actor: Actor) -> None:
        self.description = description

    def set_channels(self, channels: tuple[Channel, ...], actor: Actor) -> None:
        self._require_active()
        if not channels:
            raise InvalidCommandError("a program needs at least one channel")
        unique = tuple(dict.fromkeys(channels))
        if unique != self.channels:
            self._channels_set(channels=unique, actor=actor)

    @event(ChannelsSet)
    def _channels_set(self, channels: tuple[Channel, ...], actor: Actor) -> None:
        self.channels = channels

    def change_disclosure(self, disclosure: str, actor: Actor) -> None:
        """A new disclosure text is a new version; consent events name the version they showed."""
        self._require_active()
        checked_text(disclosure, "disclosure", max_length=5000, multiline=True)
        if disclosure != self.disclosure:
            self._disclosure_changed(disclosure=disclosure, version=self.disclosure_version + 1, actor=actor)

    @event(DisclosureChanged)
    def _disclosure_changed(self, disclosure: str, version: int, actor: Actor) -> None:
        self.disclosure = disclosure
        self.disclosure_version = version

    def archive(self, actor: Actor) -> None:
        if not self.archived:
            self._archived(actor=actor)

    @event(Archived)
    def _archived(self, actor: Actor) -> None:
        self.archived = True


def new_program(
    *,
    name: str,
    description: str,
    purpose: Purpose,
    channels: tuple[Channel, ...],
    disclosure: str,
    actor: Actor,
) -> Program:
    """A new program; refuses an empty channel list (a program nobody can join)."""
    if not channels:
        raise InvalidCommandError("a program needs at least one channel")
    checked_text(name, "name", max_length=120)
    if description:
        checked_text(description, "description", max_length=2000, multiline=True)
    checked_text(disclosure, "disclosure", max_length=5000, multiline=True)
    return Program(
        name=name,
        description=description,
        purpose=purpose,
        channels=tuple(dict.fromkeys(channels)),
        disclosure=disclosure,
        actor=actor,
    )
