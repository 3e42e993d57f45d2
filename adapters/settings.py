"""Service settings, read once from the environment (and an optional `.env` file) at start-up."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec
import platformdirs

from adapters.compliance_settings import ComplianceSettings, load_compliance
from adapters.email.feedback.settings import FeedbackSettings, FeedbackSettingsError, load_feedback_settings
from adapters.postgres.replica_settings import (
    ReadReplicaSettings,
    ReadReplicaSettingsError,
    load_read_replica,
)
from ledger.application.inbound_sms import DEFAULT_HELP
from ledger.keywords import HELP_WORDS, START_WORDS, STOP_WORDS, normalise_keyword

SmtpTls = Literal["none", "starttls", "tls"]
LogFormat = Literal["json", "console"]
_SECRET_NAMES = ("OPTIN_KEK", "OPTIN_INDEX_KEY", "OPTIN_TOKEN_KEY")
_DEMO_SECRETS = (*_SECRET_NAMES, "OPTIN_SIGNING_KEY")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it (never its value)."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the service reads from its environment. Names and meanings: docs/settings.md."""

    database_url: str | None = None
    read_replica: ReadReplicaSettings | None = None
    """`DATABASE_READ_URL`: a streaming replica for read-model queries (adapters/postgres/replica.py)."""
    data_dir: Path
    kek: bytes | None = None
    index_key: bytes | None = None
    token_key: bytes | None = None
    public_url: str = "http://127.0.0.1:8000"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: SmtpTls = "starttls"
    smtp_ca_file: str | None = None
    """A CA bundle to trust for the SMTP server's certificate (an internal CA); default: the system's."""
    smtp_timeout: float = 30.0
    """Seconds to wait for the SMTP server at each step (connect, greeting, each reply)."""
    email_from: str = "OptIn Ledger <no-reply@localhost>"
    sms_api_url: str = "https://api.twilio.com"
    sms_account_sid: str | None = None
    sms_auth_token: str | None = None
    sms_from: str | None = None
    default_region: str = "US"
    log_format: LogFormat | None = None
    db_role: str | None = "optin_app"
    sms_allowed_countries: frozenset[str] = frozenset({"US"})
    sms_hourly_cap: int = 1000
    sms_prefix_hourly_cap: int = 30
    retention_days: int = 730
    erasure_log: str | None = None
    """File path or postgresql:// URL outside the ledger database (default: data dir file)."""
    db_pool_min: int | None = None
    db_pool_max: int | None = None
    """Connections each long-running process keeps to PostgreSQL (default: each command's own)."""
    db_statement_cache: int = 100
    """asyncpg's prepared-statement cache per connection; 0 behind a transaction-pooling PgBouncer."""
    db_pool_wait: float = 5.0
    """Seconds a request waits for a pooled connection before it is answered 503."""
    db_startup_wait: float = 60.0
    """Seconds a starting process keeps trying to reach the database before it gives up."""
    sender_name: str = "OptIn Ledger"
    """How replies and footers name the sender (`{{ program_name }}` of channel-wide replies)."""
    sender_contact: str | None = None
    """How a contact reaches the sender (URL, email or phone), named in the SMS HELP reply
    (default: OPTIN_PUBLIC_URL)."""
    unsubscribe_mailto: str | None = None
    """The mailto address in List-Unsubscribe (default: unsubscribe@ the OPTIN_EMAIL_FROM domain)."""
    sms_stop_keywords: tuple[str, ...] = STOP_WORDS
    sms_start_keywords: tuple[str, ...] = START_WORDS
    sms_help_keywords: tuple[str, ...] = HELP_WORDS
    sms_help_text: str = DEFAULT_HELP
    send_max_attempts: int = 8
    send_retry_seconds: float = 30.0
    """The first retry's delay; each next one doubles (with jitter), up to an hour."""
    require_database_url: bool = False
    """Refuse to start the embedded server (container images: the database is always external)."""
    demo: bool = False
    cookie_secure: bool = True
    """Page cookies carry `Secure` (off only for plain-HTTP test clients that drop such cookies)."""
    email_feedback: FeedbackSettings = msgspec.field(default_factory=FeedbackSettings)
    """Bounces, complaints and mailto unsubscribes (adapters/email/feedback/settings.py)."""
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = 9464
    """Where Prometheus scrapes `/metrics` (0: an ephemeral port; None: no metrics endpoint)."""
    ready_max_lag_events: int = 10000
    ready_max_lag_seconds: float = 30.0
    """`/ready` says no while any projection is further behind the ledger than either bound."""
    signing_key: bytes | None = None
    """Ed25519 seed that signs checkpoints and receipts (`OPTIN_SIGNING_KEY`); none: no checkpoints."""
    ledger_origin: str | None = None
    """The log's name: checkpoint origin and key name (default: the public URL's, + /v1/ledger)."""
    checkpoint_seconds: float = 1.0
    """While appends happen, a new checkpoint at least this often."""
    compliance: ComplianceSettings = msgspec.field(default_factory=ComplianceSettings)
    """Quiet hours, opt-out deadlines, revocation review (adapters/compliance_settings.py)."""
    trusted_proxies: tuple[str, ...] = ()
    """CIDRs of the proxies whose `X-Forwarded-For` names the client (`OPTIN_TRUSTED_PROXIES`);
    none by default: the connection's peer is the client."""
    receipts_email: bool = True
    receipts_sms: bool = True
    """Send each opt-in's and opt-out's signed receipt on that channel (`OPTIN_RECEIPTS_EMAIL`,
    `OPTIN_RECEIPTS_SMS`); off, receipts are still listed and linked, never sent."""

    def pool_size(self, default_min: int, default_max: int) -> tuple[int, int]:
        """(min, max) connections of a process's pool: the settings where given, else its defaults."""
        high = self.db_pool_max or default_max
        return min(self.db_pool_min if self.db_pool_min is not None else default_min, high), high

    @property
    def erasure_log_location(self) -> str:
        return self.erasure_log or str(self.data_dir / "erasures.log")

    @property
    def log_origin(self) -> str:
        """`OPTIN_LEDGER_ORIGIN`, else the scheme-less public URL of the tiles (C2SP tlog-tiles)."""
        return self.ledger_origin or self.public_url.split("://", 1)[-1].rstrip("/") + "/v1/ledger"

    @property
    def embedded(self) -> bool:
        """No DATABASE_URL: the service runs its own PostgreSQL in the data directory."""
        return self.database_url is None


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("optin-ledger"))


def _secret(env: Mapping[str, str], name: str) -> bytes | None:
    raw = env.get(name)
    if not raw:
        return None
    try:
        value = base64.b64decode(raw, validate=True)
    except binascii.Error as e:
        raise SettingsError(f"{name} is not valid base64") from e
    if len(value) != 32:
        raise SettingsError(f"{name} must decode to 32 bytes, got {len(value)}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as e:
        raise SettingsError(f"{name} must be a whole number") from e


def _count(env: Mapping[str, str], name: str, default: int, *, least: int) -> int:
    value = _int(env, name, default)
    if value < least:
        raise SettingsError(f"{name} must be at least {least}")
    return value


def _optional_count(env: Mapping[str, str], name: str, *, least: int) -> int | None:
    return _count(env, name, least, least=least) if env.get(name) else None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as e:
        raise SettingsError(f"{name} must be a number") from e
    if value <= 0:
        raise SettingsError(f"{name} must be positive")
    return value


def _words(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    if not raw:
        return default
    words = tuple(dict.fromkeys(normalise_keyword(w) for w in raw.split(",") if w.strip()))
    if not words:
        raise SettingsError(f"{name} must list at least one keyword")
    return words


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}")
    return raw


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be true or false")


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and `#` comments skipped; surrounding quotes removed."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    data_dir: Path | None = None,
    dotenv: Path | None = None,
) -> Settings:
    """Settings from `env` (default: the process environment over `./.env` when present)."""
    if env is None:
        merged = {}
        dotenv = dotenv or Path(".env")
        if dotenv.is_file():
            merged.update(read_dotenv(dotenv))
        merged.update(os.environ)
        env = merged
    resolved_dir = data_dir or Path(env.get("OPTIN_DATA_DIR") or default_data_dir())
    try:
        email_feedback = load_feedback_settings(env)
        read_replica = load_read_replica(env)
    except (FeedbackSettingsError, ReadReplicaSettingsError) as e:
        raise SettingsError(str(e)) from None
    return Settings(
        database_url=env.get("DATABASE_URL") or None,
        read_replica=read_replica,
        data_dir=resolved_dir.expanduser().resolve(),
        kek=_secret(env, "OPTIN_KEK"),
        index_key=_secret(env, "OPTIN_INDEX_KEY"),
        token_key=_secret(env, "OPTIN_TOKEN_KEY"),
        public_url=(env.get("OPTIN_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
        smtp_host=env.get("OPTIN_SMTP_HOST") or None,
        smtp_port=_int(env, "OPTIN_SMTP_PORT", 587),
        smtp_username=env.get("OPTIN_SMTP_USERNAME") or None,
        smtp_password=env.get("OPTIN_SMTP_PASSWORD") or None,
        smtp_tls=_choice(env, "OPTIN_SMTP_TLS", ("none", "starttls", "tls")) or "starttls",  # type: ignore[arg-type]
        smtp_ca_file=env.get("OPTIN_SMTP_CA_FILE") or None,
        smtp_timeout=_float(env, "OPTIN_SMTP_TIMEOUT", 30.0),
        email_from=env.get("OPTIN_EMAIL_FROM") or "OptIn Ledger <no-reply@localhost>",
        sms_api_url=(env.get("OPTIN_SMS_API_URL") or "https://api.twilio.com").rstrip("/"),
        sms_account_sid=env.get("OPTIN_SMS_ACCOUNT_SID") or None,
        sms_auth_token=env.get("OPTIN_SMS_AUTH_TOKEN") or None,
        sms_from=env.get("OPTIN_SMS_FROM") or None,
        default_region=(env.get("OPTIN_DEFAULT_REGION") or "US").upper(),
        log_format=_choice(env, "OPTIN_LOG_FORMAT", ("json", "console")),  # type: ignore[arg-type]
        db_role=env.get("OPTIN_DB_ROLE", "optin_app") or None,
        sms_allowed_countries=frozenset(
            c.strip().upper()
            for c in (
                env.get("OPTIN_SMS_ALLOWED_COUNTRIES") or env.get("OPTIN_DEFAULT_REGION") or "US"
            ).split(",")
            if c.strip()
        ),
        sms_hourly_cap=_int(env, "OPTIN_SMS_HOURLY_CAP", 1000),
        sms_prefix_hourly_cap=_int(env, "OPTIN_SMS_PREFIX_HOURLY_CAP", 30),
        retention_days=_int(env, "OPTIN_RETENTION_DAYS", 730),
        erasure_log=env.get("OPTIN_ERASURE_LOG") or None,
        db_pool_min=_optional_count(env, "OPTIN_DB_POOL_MIN", least=0),
        db_pool_max=_optional_count(env, "OPTIN_DB_POOL_MAX", least=1),
        db_statement_cache=_count(env, "OPTIN_DB_STATEMENT_CACHE", 100, least=0),
        db_pool_wait=_float(env, "OPTIN_DB_POOL_WAIT", 5.0),
        db_startup_wait=_float(env, "OPTIN_DB_STARTUP_WAIT", 60.0),
        require_database_url=_flag(env, "OPTIN_REQUIRE_DATABASE_URL"),
        cookie_secure=_flag(env, "OPTIN_COOKIE_SECURE") if env.get("OPTIN_COOKIE_SECURE") else True,
        sender_name=env.get("OPTIN_SENDER_NAME") or "OptIn Ledger",
        sender_contact=env.get("OPTIN_SENDER_CONTACT") or None,
        unsubscribe_mailto=env.get("OPTIN_UNSUBSCRIBE_MAILTO") or None,
        sms_stop_keywords=_words(env, "OPTIN_SMS_STOP_KEYWORDS", STOP_WORDS),
        sms_start_keywords=_words(env, "OPTIN_SMS_START_KEYWORDS", START_WORDS),
        sms_help_keywords=_words(env, "OPTIN_SMS_HELP_KEYWORDS", HELP_WORDS),
        sms_help_text=env.get("OPTIN_SMS_HELP_TEXT") or DEFAULT_HELP,
        send_max_attempts=max(1, _int(env, "OPTIN_SEND_MAX_ATTEMPTS", 8)),
        send_retry_seconds=_float(env, "OPTIN_SEND_RETRY_SECONDS", 30.0),
        email_feedback=email_feedback,
        signing_key=_secret(env, "OPTIN_SIGNING_KEY"),
        ledger_origin=_origin(env.get("OPTIN_LEDGER_ORIGIN")),
        checkpoint_seconds=_float(env, "OPTIN_CHECKPOINT_SECONDS", 1.0),
        receipts_email=_flag(env, "OPTIN_RECEIPTS_EMAIL") if env.get("OPTIN_RECEIPTS_EMAIL") else True,
        receipts_sms=_flag(env, "OPTIN_RECEIPTS_SMS") if env.get("OPTIN_RECEIPTS_SMS") else True,
        metrics_host=env.get("OPTIN_METRICS_HOST") or "127.0.0.1",
        metrics_port=_metrics_port(env),
        ready_max_lag_events=max(0, _int(env, "OPTIN_READY_MAX_LAG_EVENTS", 10000)),
        ready_max_lag_seconds=_float(env, "OPTIN_READY_MAX_LAG_SECONDS", 30.0),
        trusted_proxies=_networks(env.get("OPTIN_TRUSTED_PROXIES") or ""),
        compliance=_compliance(env),
    )


def _compliance(env: Mapping[str, str]) -> ComplianceSettings:
    try:
        return load_compliance(env)
    except ValueError as e:
        raise SettingsError(str(e)) from None


def _networks(text: str) -> tuple[str, ...]:
    """CIDRs separated by commas or spaces (a bare address is a /32 or /128), normalised."""
    found = []
    for word in text.replace(",", " ").split():
        try:
            found.append(str(ipaddress.ip_network(word, strict=False)))
        except ValueError:
            raise SettingsError(
                "OPTIN_TRUSTED_PROXIES must list IP networks in CIDR form (e.g. 10.0.0.0/8)"
            ) from None
    return tuple(found)


def _metrics_port(env: Mapping[str, str]) -> int | None:
    if (env.get("OPTIN_METRICS_PORT") or "").strip().lower() == "off":
        return None
    port = _int(env, "OPTIN_METRICS_PORT", 9464)
    if not 0 <= port <= 65535:
        raise SettingsError("OPTIN_METRICS_PORT must be a port number, 0 or off")
    return port


def _origin(raw: str | None) -> str | None:
    if not raw:
        return None
    if any(c.isspace() or c == "+" for c in raw):
        raise SettingsError("OPTIN_LEDGER_ORIGIN must not contain spaces or '+'")
    return raw


def with_demo_secrets(settings: Settings) -> tuple[Settings, list[str]]:
    """Fill missing keys from `<data_dir>/secrets.env`, generating them there (0600) if absent.

    Only for the embedded demo; returns the names that were generated so the caller can say so.
    """
    path = settings.data_dir / "secrets.env"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stored = read_dotenv(path) if path.is_file() else {}
    generated = [name for name in _DEMO_SECRETS if name not in stored]
    if generated:
        for name in generated:
            stored[name] = base64.b64encode(secrets.token_bytes(32)).decode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# Demo keys generated by optin-ledger; never use these in production.\n")
            f.writelines(f"{k}={v}\n" for k, v in stored.items())
    os.chmod(path, 0o600)
    return (
        msgspec.structs.replace(
            settings,
            kek=settings.kek or _secret(stored, "OPTIN_KEK"),
            index_key=settings.index_key or _secret(stored, "OPTIN_INDEX_KEY"),
            token_key=settings.token_key or _secret(stored, "OPTIN_TOKEN_KEY"),
            signing_key=settings.signing_key or _secret(stored, "OPTIN_SIGNING_KEY"),
            demo=True,
        ),
        generated,
    )


def require_secrets(settings: Settings) -> None:
    """Refuse to start a real deployment without its keys (names only, never values)."""
    missing = [
        name
        for name, value in zip(
            _SECRET_NAMES, (settings.kek, settings.index_key, settings.token_key), strict=True
        )
        if value is None
    ]
    if missing:
        raise SettingsError("missing settings: " + ", ".join(missing) + " (base64 of 32 random bytes each)")
