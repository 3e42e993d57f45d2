"""Settings of the read replica (`DATABASE_READ_URL` and its bounds), read with the other settings
(adapters/settings.py)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec


class ReadReplicaSettingsError(ValueError):
    """A read replica setting is malformed; the message names it (never its value)."""


class ReadReplicaSettings(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    """A streaming replica of the `DATABASE_URL` database (CloudNativePG's `-ro` service)."""
    wait_seconds: float = 1.0
    """How long a `min_position` read waits for the replica before it asks the primary."""
    max_lag_seconds: float = 2.0
    """Reads without `min_position` go to the primary while the replica is further behind."""
    check_seconds: float = 0.5
    """How often the replica's reachability and lag are measured."""
    connect_timeout: float = 2.0
    """Seconds to wait for a new replica connection before the primary answers instead."""


def load_read_replica(env: Mapping[str, str]) -> ReadReplicaSettings | None:
    """`DATABASE_READ_URL` and its bounds; None when no replica is configured."""
    url = env.get("DATABASE_READ_URL") or None
    if url is None:
        return None
    if not env.get("DATABASE_URL"):
        raise ReadReplicaSettingsError("DATABASE_READ_URL needs DATABASE_URL (the primary it replicates)")
    if not url.startswith(("postgresql://", "postgres://")):
        raise ReadReplicaSettingsError("DATABASE_READ_URL must be a postgresql:// URL")
    return ReadReplicaSettings(
        url=url,
        wait_seconds=_seconds(env, "OPTIN_READ_REPLICA_WAIT_SECONDS", 1.0),
        max_lag_seconds=_seconds(env, "OPTIN_READ_REPLICA_MAX_LAG_SECONDS", 2.0),
    )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ReadReplicaSettingsError(f"{name} must be a number of seconds") from None
    if not 0 <= value <= 60:
        raise ReadReplicaSettingsError(f"{name} must be between 0 and 60 seconds")
    return value
