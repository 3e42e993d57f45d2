"""A client generated from the served schema (openapi-python-client) works as an application
would use it, as a service key: register a contact, ask for consent, check it (one and in bulk),
send a message and read it back; and every error arrives as the schema's `Problem`."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.channels import program
from tests.api.conftest import AuthHeaders

PACKAGE = "ledger_client"


def generate(schema: dict[str, Any], into: Path) -> ModuleType:
    """Run openapi-python-client on `schema` and import what it wrote."""
    (into / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
    (into / "config.yaml").write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n", encoding="utf-8")
    generator = Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            "schema.json",
            "--output-path",
            PACKAGE,
            "--meta",
            "none",
            "--config",
            "config.yaml",
        ],
        cwd=into,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(into))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    return importlib.import_module(PACKAGE)


def call(module: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{module}")


@pytest.mark.integration
async def test_an_application_works_through_a_client_generated_from_the_schema(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, tmp_path: Path
) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    generated = generate(schema, tmp_path)
    models = importlib.import_module(f"{PACKAGE}.models")
    staff = await auth_headers("staff")
    optin = await program(client, staff, ["email"], purpose="transactional", name="Receipts")
    service_key = (await auth_headers("service"))["Authorization"].removeprefix("Bearer ")
    app_client = generated.AuthenticatedClient(base_url=str(client.base_url), token=service_key)
    client.headers["Authorization"] = f"Bearer {service_key}"  # the test client carries the calls
    app_client.set_async_httpx_client(client)

    registered = await call("contacts.v1_contacts_register").asyncio_detailed(
        client=app_client,
        body=models.NewContact(channel=models.NewContactChannel.EMAIL, address="Reader@Example.org"),
    )
    assert registered.status_code == 201, registered.content
    contact_id = registered.parsed.id
    again = await call("contacts.v1_contacts_register").asyncio_detailed(
        client=app_client,
        body=models.NewContact(channel=models.NewContactChannel.EMAIL, address="reader@example.org"),
    )
    assert again.status_code == 200 and again.parsed.id == contact_id  # documented 200: the same one

    asked = await call("consent.v1_consent_requests_request_consent").asyncio_detailed(
        client=app_client,
        body=models.ConsentRequest(
            optin_id=optin, action=models.ConsentRequestAction.OPT_IN, contact_id=contact_id
        ),
    )
    assert asked.status_code == 202, asked.content
    assert asked.parsed.verification_id
    position = int(asked.headers["ledger-position"])

    checked = await call("consent.v1_consent_get_consent").asyncio_detailed(
        client=app_client,
        optin_id=optin,
        channel=models.V1ConsentGetConsentChannel.EMAIL,
        contact_id=contact_id,
        min_position=position,
    )
    assert checked.status_code == 200, checked.content
    assert checked.parsed.status.value == "pending"

    email = models.CheckRowChannel.EMAIL
    bulk = await call("consent.v1_consent_check_check").asyncio_detailed(
        client=app_client,
        body=models.CheckIn(
            items=[
                models.CheckRow(optin_id=optin, channel=email, contact_id=contact_id),
                models.CheckRow(optin_id=optin, channel=email, address="not-an-address"),
            ]
        ),
    )
    assert bulk.status_code == 200, bulk.content
    answered, refused = bulk.parsed
    assert answered.status.value == "pending" and answered.contact_id == contact_id
    assert refused.error.key == "items[1].address" and refused.error.status == 422

    templates = await call("templates.v1_templates_list").asyncio_detailed(
        client=app_client,
        kind=models.V1TemplatesListKind.TRANSACTIONAL,
        channel=models.V1TemplatesListChannel.EMAIL,
    )
    assert templates.status_code == 200, templates.content  # applications learn the variables
    needed = {name for t in templates.parsed if t.is_default for name in t.variables}
    assert "message" in needed
    values = {name: f"the {name}" for name in needed} | {"message": "Your receipt is attached."}
    sent = await call("messages.v1_messages_send_send").asyncio_detailed(
        client=app_client,
        body=models.SendIn(
            contact_id=contact_id,
            optin_id=optin,
            kind=models.SendInKindType1.TRANSACTIONAL,
            variables=models.SendInVariables.from_dict(values),
        ),
    )
    assert sent.status_code == 202, sent.content
    message_id = sent.parsed.message_id

    read = await call("messages.v1_messages_message_id_get_one").asyncio_detailed(
        message_id,
        client=app_client,
        min_position=int(sent.headers["ledger-position"]),
    )
    assert read.status_code == 200, read.content
    assert read.parsed.message.id == message_id
    assert read.parsed.message.contact_id == contact_id
    assert [e.topic for e in read.parsed.events][:1] == ["message.requested"]

    unknown = await call("consent.v1_consent_get_consent").asyncio_detailed(
        client=app_client,
        optin_id=contact_id,  # not a program
        channel=models.V1ConsentGetConsentChannel.EMAIL,
        contact_id=contact_id,
    )
    assert unknown.status_code == 404
    assert isinstance(unknown.parsed, models.Problem) and unknown.parsed.title == "Not Found"

    other_key = (await auth_headers("service"))["Authorization"]
    client.headers["Authorization"] = other_key  # another application's key
    theirs = await call("messages.v1_messages_message_id_get_one").asyncio_detailed(
        message_id, client=app_client
    )
    assert theirs.status_code == 404 and isinstance(theirs.parsed, models.Problem)
