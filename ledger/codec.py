"""Event (de)serialisation: an eventsourcing `Mapper` with stable topics and a msgspec transcoder.

Event classes are found by their explicit `TOPIC` (for example `optin.created`), never by a Python
import path, so moving or renaming a class cannot orphan stored events. Decoding is typed: the
stored JSON is converted straight into the event dataclass by msgspec, after any upcasting.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, TypedDict, cast
from uuid import UUID

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent, Transcoder
from eventsourcing.utils import resolve_topic


class MsgspecTranscoder(Transcoder):
    """JSON via msgspec: UUIDs, datetimes, bytes, tuples and Structs need no registration."""

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder()

    def encode(self, obj: Any) -> bytes:
        return self._encoder.encode(obj)

    def decode(self, data: bytes) -> Any:
        return self._decoder.decode(data)


class TopicError(TypeError):
    """An event class without a stable, explicitly registered topic."""


def stable_topic(cls: type[object]) -> str:
    """The explicit topic of an event class; refuses module-path topics."""
    topic = getattr(cls, "TOPIC", None)
    if not isinstance(topic, str) or ":" in topic or resolve_topic(topic) is not cls:
        raise TopicError(f"{cls.__qualname__} has no explicit stable TOPIC of its own")
    return topic


class LedgerMapper(Mapper[UUID]):
    """Maps domain events to stored events and back, by stable topic."""

    def __init__(self, transcoder: Transcoder | None = None) -> None:
        super().__init__(transcoder or MsgspecTranscoder())
        self._classes: dict[str, tuple[type[Any], int, msgspec.json.Decoder[Any] | None]] = {}

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        cls = type(domain_event)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=stable_topic(cls),
            state=self.transcoder.encode(state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        return self.decode(
            stored_event.topic,
            stored_event.originator_id,
            stored_event.originator_version,
            stored_event.state,
        )

    def decode(
        self, topic: str, originator_id: UUID | str, originator_version: int, state: bytes
    ) -> DomainEventProtocol[UUID]:
        """`to_domain_event` from the stored fields, without building a `StoredEvent` first.

        Classes without upcasters are decoded straight from JSON into their typed fields by a
        msgspec decoder made once per class, then the event is assembled the way eventsourcing's
        own mapper does it (no `__init__`): the projection rebuild's hot path.
        """
        try:
            cls, class_version, typed = self._classes[topic]
        except KeyError:
            cls, class_version, typed = self._classes.setdefault(topic, _describe(resolve_topic(topic)))
        try:
            if typed is not None:
                fields: dict[str, Any] = typed.decode(state)
                fields["originator_id"] = originator_id
                fields["originator_version"] = originator_version
                domain_event = object.__new__(cls)
                object.__setattr__(domain_event, "__dict__", fields)
                return cast("DomainEventProtocol[UUID]", domain_event)
            fields = self.transcoder.decode(state)
            from_version = fields.pop("class_version", 1)
            while from_version < class_version:
                getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(fields)
                from_version += 1
            fields["originator_id"] = originator_id
            fields["originator_version"] = originator_version
            return cast("DomainEventProtocol[UUID]", msgspec.convert(fields, cls))
        except (msgspec.ValidationError, msgspec.DecodeError, AttributeError, KeyError) as e:
            raise MapperDeserialisationError(
                f"cannot decode {topic} v{originator_version} of {originator_id}: {e}"
            ) from e


def _describe(cls: type[Any]) -> tuple[type[Any], int, msgspec.json.Decoder[Any] | None]:
    """An event class, its version, and a typed decoder for its stored state (None when the
    class has upcasters: old states must be upcast as plain dicts before they are typed)."""
    class_version = getattr(cls, "class_version", 1)
    if class_version > 1:
        return cls, class_version, None
    hints = typing.get_type_hints(cls)
    stored = {
        f.name: hints[f.name]
        for f in dataclasses.fields(cls)
        if f.name not in ("originator_id", "originator_version")
    }
    shape = TypedDict(f"{cls.__qualname__}State", stored)  # type: ignore[misc]
    return cls, class_version, msgspec.json.Decoder(shape)
