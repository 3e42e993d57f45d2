"""The email channel over STARTTLS and implicit TLS, with a login, against a real SMTP server
whose certificate comes from a throwaway CA (trusted through OPTIN_SMTP_CA_FILE, else refused)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import trustme

from adapters.settings import Settings
from tests import pii
from tests.api.channels import Client, contact, eventually, message, program, send
from tests.api.conftest import AuthHeaders
from tests.fakes.smtp import PASSWORD, USERNAME, Mailbox, smtp_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(params=["starttls", "tls"])
def tls(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def mailbox_and_port(ca: trustme.CA, tls: str) -> Iterator[tuple[Mailbox, int]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    yield from smtp_server(tls, context)


@pytest.fixture
def settings(
    settings: Settings, mailbox_and_port: tuple[Mailbox, int], ca: trustme.CA, tls: str, tmp_path: Path
) -> Settings:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return msgspec.structs.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=mailbox_and_port[1],
        smtp_tls=tls,
        smtp_username=USERNAME,
        smtp_password=PASSWORD,
        smtp_ca_file=str(bundle),
        send_retry_seconds=0.05,
    )


async def test_mail_goes_over_tls_with_a_login(
    client: Client, mailbox_and_port: tuple[Mailbox, int], auth_headers: AuthHeaders
) -> None:
    mailbox = mailbox_and_port[0]
    staff = await auth_headers("staff")
    orders = await program(client, staff, ["email"], purpose="transactional", name="Orders")
    address = pii.email()
    person = await contact(client, staff, "email", address)
    queued = await send(client, staff, contact_id=person, optin_id=orders, kind="transactional",
                        variables={"subject": "Receipt", "message": "Thanks"})  # fmt: skip
    assert queued.status_code == 202, queued.text
    await message(client, staff, queued.json()["message_id"], "sent")
    assert mailbox.logins  # the server only allows a login once the connection is encrypted

    async def arrived() -> bool:
        return bool(mailbox.to(address))

    await eventually(arrived)
