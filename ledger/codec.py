"""Event (de)serialisation: an eventsourcing `Mapper` with stable topics and a msgspec transcoder.

Event classes are found by their explicit `TOPIC` (for example `optin.created`), never by a Python
import path, so moving or renaming a class cannot orphan stored events. Decoding is typed: the
stored JSON is converted straight into the event dataclass by msgspec, after any upcasting.
"""

from __future__ import annotations

from typing import Any, cast
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
        cls = resolve_topic(stored_event.topic)
        try:
            state: dict[str, Any] = self.transcoder.decode(stored_event.state)
            from_version = state.pop("class_version", 1)
            class_version = getattr(cls, "class_version", 1)
            while from_version < class_version:
                getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
                from_version += 1
            state["originator_id"] = stored_event.originator_id
            state["originator_version"] = stored_event.originator_version
            return cast(DomainEventProtocol[UUID], msgspec.convert(state, cls))
        except (msgspec.ValidationError, msgspec.DecodeError, AttributeError, KeyError) as e:
            raise MapperDeserialisationError(
                f"cannot decode {stored_event.topic} v{stored_event.originator_version} "
                f"of {stored_event.originator_id}: {e}"
            ) from e
