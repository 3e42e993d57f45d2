"""The email set-up trap, against a real SMTP server (aiosmtpd) configured each wrong way.

With only OPTIN_SMTP_HOST/PORT set, the default `starttls` meets a plain server: the probe says
so and names the setting; `serve` and `worker` refuse to start with that sentence instead of
retrying every message for hours; a send records the server's own words, not "SMTPException".
Each wrong set-up gets its own sentence; a server that is merely down is reported, not fatal.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
import trustme

from adapters.email.smtp import SmtpSender
from adapters.email.smtp_errors import SmtpSetupError
from adapters.settings import Settings, SmtpTls
from ledger.ports import Outgoing
from ledger.send_failure import SendError
from tests import pii
from tests.api.test_users_cli import cli_env as env_for
from tests.fakes.smtp import PASSWORD, USERNAME, Mailbox, free_port, smtp_server


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def served(tls: str, ca: trustme.CA) -> Iterator[tuple[Mailbox, int]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    yield from smtp_server(tls, context if tls != "none" else None)


@pytest.fixture
def plain(ca: trustme.CA) -> Iterator[int]:
    for _, port in served("none", ca):
        yield port


@pytest.fixture
def starttls(ca: trustme.CA) -> Iterator[int]:
    for _, port in served("starttls", ca):
        yield port


@pytest.fixture
def implicit_tls(ca: trustme.CA) -> Iterator[int]:
    for _, port in served("tls", ca):
        yield port


def sender(port: int, tls: SmtpTls = "starttls", *, host: str = "127.0.0.1", **options: str) -> SmtpSender:
    given = {"username": USERNAME, "password": PASSWORD} | options
    return SmtpSender(
        host=host, port=port, tls=tls, sender="Shop <news@shop.example.org>", timeout=1.0,
        username=given.get("username"), password=given.get("password"), ca_file=given.get("ca_file"),
    )  # fmt: skip


async def refusal(smtp: SmtpSender) -> SmtpSetupError:
    with pytest.raises(SmtpSetupError) as caught:
        await smtp.probe()
    return caught.value


async def test_the_default_starttls_against_a_plain_server_names_the_setting(plain: int) -> None:
    problem = await refusal(sender(plain))  # only host and port set: the default TLS mode
    assert problem.fatal
    assert "does not offer STARTTLS" in str(problem) and "OPTIN_SMTP_TLS=none" in str(problem)


async def test_implicit_tls_against_a_plain_server(plain: int) -> None:
    problem = await refusal(sender(plain, "tls"))
    assert problem.fatal and "does not speak TLS from the first byte" in str(problem)
    assert "WRONG_VERSION_NUMBER" in str(problem)  # the real error text, not a class name


async def test_starttls_against_an_implicit_tls_port(implicit_tls: int) -> None:
    problem = await refusal(sender(implicit_tls))
    assert problem.fatal and "sent no greeting within 1 s" in str(problem)
    assert "OPTIN_SMTP_TLS=tls" in str(problem)


async def test_a_login_over_a_plain_connection_to_a_starttls_server(starttls: int) -> None:
    problem = await refusal(sender(starttls, "none"))
    assert problem.fatal and "offers no login on this connection" in str(problem)


async def test_an_untrusted_certificate(starttls: int, implicit_tls: int) -> None:
    for smtp in (sender(starttls), sender(implicit_tls, "tls")):
        problem = await refusal(smtp)
        assert problem.fatal and "is not trusted" in str(problem) and "OPTIN_SMTP_CA_FILE" in str(problem)
        assert "CERTIFICATE_VERIFY_FAILED" in str(problem)


async def test_a_refused_login_quotes_the_server(plain: int) -> None:
    problem = await refusal(sender(plain, "none", password="not-the-password"))
    assert problem.fatal and "refused the login" in str(problem)
    assert "535 5.7.8 Authentication credentials invalid" in str(problem)


async def test_an_unknown_host_is_fatal_and_a_closed_port_is_not() -> None:
    unknown = await refusal(sender(25, host="no-such-host.invalid"))
    assert unknown.fatal and "OPTIN_SMTP_HOST=no-such-host.invalid does not resolve" in str(unknown)
    closed = await refusal(sender(free_port(), "none"))
    assert not closed.fatal and "does not answer now" in str(closed)


async def test_the_right_settings_pass(starttls: int, implicit_tls: int, plain: int, ca_file: str) -> None:
    assert "logged in as mailer" in await sender(starttls, ca_file=ca_file).probe()
    assert await sender(implicit_tls, "tls", ca_file=ca_file).probe()
    assert await sender(plain, "none").probe()


async def test_a_send_keeps_the_servers_words_not_a_class_name(plain: int) -> None:
    outgoing = Outgoing(
        message_id=uuid4(), contact_id=uuid4(), kind="transactional", channel="email",
        to=pii.email(), text="Your receipt", subject="Receipt",
    )  # fmt: skip
    with pytest.raises(SendError) as caught:
        await sender(plain).send(outgoing)
    assert caught.value.category == "tls_failed" and not caught.value.permanent
    assert "STARTTLS extension not supported" in str(caught.value)


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    return env_for(settings)


def run(command: str, env: dict[str, str], timeout: float = 60) -> tuple[int, str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *command.split()],
        env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


@pytest.mark.integration
@pytest.mark.parametrize("command", ["serve --port 0", "worker"])
def test_serve_and_worker_refuse_to_start_on_a_configuration_error(
    command: str, plain: int, cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = cli_env | {"OPTIN_SMTP_HOST": "127.0.0.1", "OPTIN_SMTP_PORT": str(plain),
                     "OPTIN_DATA_DIR": str(tmp_path)}  # fmt: skip
    code, output, seconds = run(command, env)
    assert code == 2, output
    assert "the email channel is misconfigured" in output and "does not offer STARTTLS" in output
    assert seconds < 30
