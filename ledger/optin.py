"""The opt-in program aggregate: what a contact can consent to, on which channels, with which text."""

from __future__ import annotations

import hashlib

from eventsourcing.domain import Aggregate, event

from ledger.errors import InvalidCommandError
from ledger.vocabulary import Actor, Channel, Purpose


def disclosure_sha256(text: str) -> str:
    """The hex SHA-256 of a disclosure text exactly as shown (UTF-8)."""
    return hashlib.sha256(text.encode()).hexdigest()


class OptIn(Aggregate):
    """A program a contact can opt into, such as "Weekly offers" by email or SMS."""

    TOPIC = "optin"

    @event("Created", topic="optin.created")
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
        if name != self.name:
            self._renamed(name=name, actor=actor)

    @event("Renamed", topic="optin.renamed")
    def _renamed(self, name: str, actor: Actor) -> None:
        self.name = name

    def describe(self, description: str, actor: Actor) -> None:
        self._require_active()
        if description != self.description:
            self._described(description=description, actor=actor)

    @event("Described", topic="optin.described")
    def _described(self, description: str, actor: Actor) -> None:
        self.description = description

    def set_channels(self, channels: tuple[Channel, ...], actor: Actor) -> None:
        self._require_active()
        if not channels:
            raise InvalidCommandError("a program needs at least one channel")
        if channels != self.channels:
            self._channels_set(channels=channels, actor=actor)

    @event("ChannelsSet", topic="optin.channels_set")
    def _channels_set(self, channels: tuple[Channel, ...], actor: Actor) -> None:
        self.channels = channels

    def change_disclosure(self, disclosure: str, actor: Actor) -> None:
        """A new disclosure text is a new version; consent events name the version they showed."""
        self._require_active()
        if disclosure != self.disclosure:
            self._disclosure_changed(
                disclosure=disclosure, version=self.disclosure_version + 1, actor=actor
            )

    @event("DisclosureChanged", topic="optin.disclosure_changed")
    def _disclosure_changed(self, disclosure: str, version: int, actor: Actor) -> None:
        self.disclosure = disclosure
        self.disclosure_version = version

    def archive(self, actor: Actor) -> None:
        if not self.archived:
            self._archived(actor=actor)

    @event("Archived", topic="optin.archived")
    def _archived(self, actor: Actor) -> None:
        self.archived = True


def create_optin(
    *,
    name: str,
    description: str,
    purpose: Purpose,
    channels: tuple[Channel, ...],
    disclosure: str,
    actor: Actor,
) -> OptIn:
    """A new program; refuses an empty channel list (a program nobody can join)."""
    if not channels:
        raise InvalidCommandError("a program needs at least one channel")
    unique = tuple(dict.fromkeys(channels))
    return OptIn(
        name=name,
        description=description,
        purpose=purpose,
        channels=unique,
        disclosure=disclosure,
        actor=actor,
    )
