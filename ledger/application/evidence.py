"""The evidence a consent change carries: who acted, through what, and the client they used.

The client's IP address and user agent are personal data: they are sealed with the contact's key
before they go into an event, so erasing the contact makes them unreadable too.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import msgspec

from ledger.consent import Evidence
from ledger.ports import Sealer
from ledger.program import Program
from ledger.vocabulary import Actor, Source


@dataclass(frozen=True, slots=True)
class Client:
    """The HTTP client behind a request: personal data, sealed with the contact's key."""

    ip: str | None = None
    user_agent: str | None = None


def sealed_client(sealer: Sealer, key: bytes, client: Client) -> bytes | None:
    if not (client.ip or client.user_agent):
        return None
    plain = msgspec.json.encode({"ip": client.ip, "user_agent": client.user_agent}).decode()
    return sealer.seal(key, plain)


def evidence(
    sealer: Sealer,
    key: bytes,
    *,
    actor: Actor,
    source: Source,
    client: Client,
    verification_id: UUID | None = None,
    shown: Program | None = None,
    reason: str | None = None,
    relay: Actor | None = None,
) -> Evidence:
    """Evidence naming `actor` and `source`; `shown`: the program whose disclosure text the
    contact was shown (its version and hash are recorded); `relay`: the application or staff
    member who passed on the contact's code."""
    return Evidence(
        actor=actor,
        source=source,
        verification_id=verification_id,
        disclosure_version=shown.disclosure_version if shown else None,
        disclosure_sha256=shown.disclosure_sha256 if shown else None,
        sealed_client=sealed_client(sealer, key, client),
        sealed_reason=sealer.seal(key, reason) if reason else None,
        relay=relay,
    )
