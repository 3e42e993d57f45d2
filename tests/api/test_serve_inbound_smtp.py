"""`optin-ledger serve` runs the inbound SMTP listener when OPTIN_INBOUND_SMTP_PORT is set, takes a
report on it while serving, and stops it cleanly with the service."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiosmtplib
import pytest

from tests.api.test_serve import free_port, wait_healthy

pytestmark = pytest.mark.integration


def refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


async def test_serve_starts_the_listener_and_stops_it_cleanly(database_url: str, tmp_path: Path) -> None:
    port, smtp_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "OPTIN_"))}
    keys = {n: base64.b64encode(secrets.token_bytes(32)).decode() for n in ("KEK", "INDEX_KEY", "TOKEN_KEY")}
    env |= {f"OPTIN_{n}": v for n, v in keys.items()}
    env |= {
        "DATABASE_URL": database_url,
        "OPTIN_LOG_FORMAT": "json",
        "OPTIN_EMAIL_FROM": "Shop <news@shop.example.org>",
        "OPTIN_INBOUND_SMTP_PORT": str(smtp_port),
    }
    proc = subprocess.Popen(  # noqa: ASYNC220 (nothing else runs on this loop meanwhile)
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--data-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp_port, timeout=10)
        greeting = await smtp.connect()
        assert greeting.code == 220 and greeting.message.startswith("shop.example.org")
        code, _ = await smtp.mail("")
        assert code == 250
        assert (await smtp.rcpt("bounces+anything@shop.example.org"))[0] == 250
        assert (await smtp.rcpt("unsubscribe@shop.example.org"))[0] == 250
        with pytest.raises(aiosmtplib.SMTPRecipientRefused):
            await smtp.rcpt("someone@elsewhere.example")
        # an idle client still connected when the service stops must not hold the shutdown up
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out.decode()[-2000:]
    assert b"inbound SMTP listening" in out
    assert refused(smtp_port)
