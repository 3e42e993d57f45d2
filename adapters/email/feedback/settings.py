"""Settings of email feedback: the inbound SMTP listener, the bounce address, the soft-bounce rule,
and the credentials of each provider's webhook. Read with the other settings (adapters/settings.py)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

MIB = 1024 * 1024


class FeedbackSettingsError(ValueError):
    """A feedback setting is malformed; the message names it (never its value)."""


class FeedbackSettings(msgspec.Struct, frozen=True, kw_only=True):
    inbound_smtp_host: str = "127.0.0.1"
    inbound_smtp_port: int | None = None
    """None: no listener (the default). 0: any free port (tests)."""
    inbound_smtp_hostname: str | None = None
    """The name the listener greets with (default: the bounce address's domain)."""
    inbound_smtp_max_bytes: int = 10 * MIB
    inbound_smtp_tls_cert: str | None = None
    inbound_smtp_tls_key: str | None = None
    """PEM files: with both, the listener offers STARTTLS."""
    bounce_address: str | None = None
    """VERP base address (default: bounces@ the OPTIN_EMAIL_FROM domain)."""
    soft_bounce_limit: int = 3
    soft_bounce_window_days: float = 7.0
    ses_topic_arns: frozenset[str] = frozenset()
    ses_cert_hosts: frozenset[str] = frozenset()
    """Hosts besides sns.<region>.amazonaws.com trusted to serve SNS certificates (LocalStack)."""
    ses_ca_file: str | None = None
    sendgrid_public_key: str | None = None
    postmark_username: str | None = None
    postmark_password: str | None = None

    @property
    def postmark(self) -> bool:
        return bool(self.postmark_username and self.postmark_password)


def load_feedback_settings(env: Mapping[str, str]) -> FeedbackSettings:
    return FeedbackSettings(
        inbound_smtp_host=env.get("OPTIN_INBOUND_SMTP_HOST") or "127.0.0.1",
        inbound_smtp_port=_port(env, "OPTIN_INBOUND_SMTP_PORT"),
        inbound_smtp_hostname=env.get("OPTIN_INBOUND_SMTP_HOSTNAME") or None,
        inbound_smtp_max_bytes=int(_positive(env, "OPTIN_INBOUND_SMTP_MAX_BYTES", 10 * MIB)),
        inbound_smtp_tls_cert=env.get("OPTIN_INBOUND_SMTP_TLS_CERT") or None,
        inbound_smtp_tls_key=env.get("OPTIN_INBOUND_SMTP_TLS_KEY") or None,
        bounce_address=_address(env, "OPTIN_BOUNCE_ADDRESS"),
        soft_bounce_limit=int(_positive(env, "OPTIN_SOFT_BOUNCE_LIMIT", 3)),
        soft_bounce_window_days=_positive(env, "OPTIN_SOFT_BOUNCE_WINDOW_DAYS", 7.0),
        ses_topic_arns=_list(env, "OPTIN_SES_TOPIC_ARNS"),
        ses_cert_hosts=frozenset(h.lower() for h in _list(env, "OPTIN_SES_CERT_HOSTS")),
        ses_ca_file=env.get("OPTIN_SES_CA_FILE") or None,
        sendgrid_public_key=env.get("OPTIN_SENDGRID_WEBHOOK_PUBLIC_KEY") or None,
        postmark_username=env.get("OPTIN_POSTMARK_WEBHOOK_USERNAME") or None,
        postmark_password=env.get("OPTIN_POSTMARK_WEBHOOK_PASSWORD") or None,
    )


def _port(env: Mapping[str, str], name: str) -> int | None:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "off"):
        return None
    if not raw.isdigit() or int(raw) > 65535:
        raise FeedbackSettingsError(f"{name} must be a port number (0: any free port) or off")
    return int(raw)


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise FeedbackSettingsError(f"{name} must be a number") from None
    if value <= 0:
        raise FeedbackSettingsError(f"{name} must be positive")
    return value


def _address(env: Mapping[str, str], name: str) -> str | None:
    raw = (env.get(name) or "").strip()
    local, at, domain = raw.rpartition("@")
    if raw and not (local and at and domain and "+" not in local):
        raise FeedbackSettingsError(f"{name} must be local@domain, without a +tag")
    return raw or None


def _list(env: Mapping[str, str], name: str) -> frozenset[str]:
    return frozenset(v.strip() for v in (env.get(name) or "").split(",") if v.strip())
