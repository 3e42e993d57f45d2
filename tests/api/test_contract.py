"""The contract, from both sides: what the schema says every operation can answer, and what the
service answers to bad input (each a problem naming the field, never a 500)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jsonschema
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.settings import Settings
from api.app import create_app
from api.openapi.contract import contract
from tests.api.channels import contact, program
from tests.api.conftest import AuthHeaders

Client = AsyncTestClient[Litestar]
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    from api.openapi.reference import current_schema

    return current_schema()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_every_operation_says_who_and_every_error_is_the_one_problem_schema(schema: dict[str, Any]) -> None:
    for path, method, op in operations(schema):
        name = f"{method.upper()} {path}"
        assert op["x-roles"], name
        assert "**Who:**" in op["description"], name
        if op["x-roles"] == ["anyone"]:
            assert op["security"] == [], name
        else:
            assert op["security"], name
            assert {"401", "403"} <= set(op["responses"]), name
            assert ", ".join(op["x-roles"]) in op["responses"]["403"]["description"], name
        for code, response in op["responses"].items():
            if (int(code) >= 400 and code != "503") or PROBLEM in response.get("content", {}):
                assert response["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
            if code == "204":
                assert "content" not in response, name
        if "requestBody" in op:
            assert {"400", "413", "422"} <= set(op["responses"]), name
        if any(p["name"] == "min_position" for p in op.get("parameters", [])):
            assert {"400", "503"} <= set(op["responses"]), name


def test_success_codes_are_the_ones_given(schema: dict[str, Any]) -> None:
    def codes(path: str, method: str) -> set[str]:
        return {c for c in schema["paths"][path][method]["responses"] if c < "300"}

    assert codes("/v1/contacts", "post") == {"200", "201"}
    assert codes("/v1/consent-requests", "post") == {"200", "202"}
    assert codes("/v1/messages/send", "post") == {"202"}
    assert codes("/v1/users/{user_id}/api-keys/{key_id}", "delete") == {"204"}
    assert codes("/v1/public/me/consents", "post") == {"200"}
    assert codes("/v1/verifications/{verification_id}/confirm", "post") == {"200"}


def test_query_parameters_carry_their_bounds_and_never_null(schema: dict[str, Any]) -> None:
    params = {p["name"]: p["schema"] for p in schema["paths"]["/v1/audit/events"]["get"]["parameters"]}
    assert params["after"]["minimum"] == 0 and params["min_position"]["minimum"] == 0
    assert params["min_position"]["maximum"] == 2**53 - 1
    assert all("null" not in str(s) for s in params.values())
    body = schema["components"]["schemas"]["NewContact"]
    assert body["additionalProperties"] is False
    assert body["properties"]["address"]["pattern"] == "^[^\\x00]*$"


def test_the_served_document_is_the_contract(settings: Settings) -> None:
    app = create_app(settings)
    assert contract(app)["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]


async def problem(response: Any, status: int, schema: dict[str, Any]) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    jsonschema.validate(body, schema["components"]["schemas"]["Problem"])
    return body


@pytest.mark.integration
async def test_bad_input_is_a_problem_naming_the_field(
    client: Client, as_admin: dict[str, str], schema: dict[str, Any]
) -> None:
    h = as_admin
    missing = await problem(await client.post("/v1/contacts", headers=h), 400, schema)
    assert missing["detail"] == "the request needs a JSON body"
    wrong = await problem(
        await client.post("/v1/contacts", json={"channel": "email", "address": 5}, headers=h), 422, schema
    )
    assert wrong["errors"][0]["key"] == "address" and wrong["errors"][0]["message"].startswith("address: ")
    lax = await client.patch(f"/v1/optins/{uuid.uuid4()}", json={"archived": 0}, headers=h)
    assert (await problem(lax, 422, schema))["errors"][0]["key"] == "archived"  # no 0-for-false
    text = {"name": "a\x00b", "purpose": "marketing", "channels": ["email"], "disclosure": "d"}
    nul = await client.post("/v1/optins", json=text, headers=h)
    assert (await problem(nul, 422, schema))["errors"][0]["key"] == "name"
    nul_query = await client.get("/v1/messages?status=a%00", headers=h)
    assert (await problem(nul_query, 422, schema))["errors"][0] == {
        "key": "status", "source": "query", "message": "status: text may not contain NUL characters (U+0000)"
    }  # fmt: skip
    deep = b'{"channel": "email", "address": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    too_deep = await client.post(
        "/v1/contacts", content=deep, headers={**h, "content-type": "application/json"}
    )
    assert too_deep.status_code in (400, 413, 422) and too_deep.headers["content-type"].startswith(PROBLEM)
    big = await client.post(
        "/v1/contacts", content=b"x" * 2_000_000, headers={**h, "content-type": "application/json"}
    )
    await problem(big, 413, schema)
    huge = await client.get("/v1/audit/events?after=99999999999999999999999", headers=h)
    assert (await problem(huge, 422, schema))["errors"][0]["key"] == "after"
    twice = await client.get("/v1/optins?include_archived=true&include_archived=false", headers=h)
    assert (await problem(twice, 422, schema))["errors"][0]["key"] == "include_archived"
    null = await client.get("/v1/optins?min_position=null", headers=h)
    assert (await problem(null, 422, schema))["errors"][0]["key"] == "min_position"
    unix_time = await client.get("/v1/contacts?created_before=0.5", headers=h)
    assert (await problem(unix_time, 422, schema))["errors"][0]["key"] == "created_before"


@pytest.mark.integration
async def test_min_position_beyond_the_ledger_is_a_400_at_once(
    client: Client, as_admin: dict[str, str], schema: dict[str, Any]
) -> None:
    started = time.perf_counter()
    ahead = await client.get("/v1/optins?min_position=99999999", headers=as_admin)
    assert time.perf_counter() - started < 1.0  # no 2-second wait
    body = await problem(ahead, 400, schema)
    assert body["errors"][0]["key"] == "min_position" and body["ledger_position"] >= 1
    head = body["ledger_position"]
    assert (await client.get(f"/v1/optins?min_position={head}", headers=as_admin)).status_code == 200


@pytest.mark.integration
async def test_consent_reads_refuse_what_they_cannot_answer(
    client: Client, auth_headers: AuthHeaders, schema: dict[str, Any]
) -> None:
    service, staff = await auth_headers("service"), await auth_headers("staff")
    optin = await program(client, staff, ["email"])
    person = await contact(client, service, "email", "ada@example.org")
    base = f"/v1/consent?optin_id={optin}&channel=email"
    neither = await problem(await client.get(base, headers=service), 422, schema)
    assert neither["errors"][0]["key"] == "contact_id"
    both = await client.get(f"{base}&contact_id={person}&address=ada@example.org", headers=service)
    assert "exactly one" in (await problem(both, 422, schema))["errors"][0]["message"]
    naive = await client.get(f"{base}&contact_id={person}&as_of=2026-01-01T00:00:00", headers=service)
    assert (await problem(naive, 422, schema))["errors"][0]["key"] == "as_of"
    unknown = await client.get(
        f"/v1/consent?optin_id={uuid.uuid4()}&channel=email&contact_id={person}", headers=service
    )
    assert (await problem(unknown, 404, schema))["title"] == "Not Found"
    forbidden = await problem(await client.get("/v1/users", headers=service), 403, schema)
    assert forbidden["roles"] == ["admin"] and "only admin may" in forbidden["detail"]


@pytest.mark.integration
async def test_the_bulk_check_answers_each_item_and_stays_fast(
    client: Client, auth_headers: AuthHeaders
) -> None:
    service, staff = await auth_headers("service"), await auth_headers("staff")
    optin = await program(client, staff, ["email"])
    person = await contact(client, service, "email", "grace@example.org")
    items: list[dict[str, Any]] = [{"optin_id": optin, "channel": "email", "contact_id": person}] * 1000
    items[17] = {"optin_id": optin, "channel": "email", "address": "not an address"}
    items[18] = {"optin_id": str(uuid.uuid4()), "channel": "email", "contact_id": person}
    items[19] = {"optin_id": optin, "channel": "email"}
    items[20] = {"optin_id": optin, "channel": "email", "address": "grace@example.org"}
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        answer = await client.post("/v1/consent/check", json={"items": items}, headers=service)
        timings.append(time.perf_counter() - started)
    assert answer.status_code == 200, answer.text
    rows = answer.json()
    assert len(rows) == 1000
    assert rows[17]["error"]["key"] == "items[17].address" and rows[17]["status"] is None
    unknown = f"items[18].optin_id: no program with id {items[18]['optin_id']}"
    assert rows[18]["error"] == {"key": "items[18].optin_id", "status": 404, "message": unknown}
    assert rows[19]["error"]["key"] == "items[19]" and rows[19]["error"]["status"] == 422
    # an item never asked has no contact; one asked of an unknown program keeps its own
    assert [rows[n]["contact_id"] for n in (17, 18, 19)] == [None, person, None]
    assert rows[20]["contact_id"] == person and rows[20]["status"] == "unknown"
    assert all(
        r["status"] == "unknown" and r["error"] is None for n, r in enumerate(rows) if n not in (17, 18, 19)
    )
    print(f"bulk check of 1,000 over HTTP (test client): best {min(timings) * 1000:.1f} ms")
    assert min(timings) < 1.0  # a regression guard on a shared machine; the bench measures speed


@pytest.mark.integration
async def test_a_service_key_lists_only_the_messages_its_account_sent(
    client: Client, auth_headers: AuthHeaders
) -> None:
    service, other, staff = (
        await auth_headers("service"),
        await auth_headers("service"),
        await auth_headers("staff"),
    )
    optin = await program(client, staff, ["sms"], purpose="transactional", name="Orders")
    person = await contact(client, service, "sms", "+14155550123")
    sent = await client.post("/v1/messages/send", headers=service, json={
        "contact_id": person, "optin_id": optin, "kind": "transactional",
        "variables": {"message": "Shipped."}})  # fmt: skip
    assert sent.status_code == 202, sent.text
    at = sent.headers["ledger-position"]
    mine = (await client.get(f"/v1/messages?min_position={at}", headers=service)).json()["items"]
    assert [m["id"] for m in mine] == [sent.json()["message_id"]]
    assert (await client.get(f"/v1/messages?min_position={at}", headers=other)).json()["items"] == []
    everyone = (await client.get(f"/v1/messages?min_position={at}", headers=staff)).json()["items"]
    assert sent.json()["message_id"] in [m["id"] for m in everyone]


@pytest.mark.integration
async def test_options_names_every_method_of_the_path(client: Client) -> None:
    answer = await client.options(f"/v1/contacts/{uuid.uuid4()}")
    assert set(answer.headers["allow"].replace(" ", "").split(",")) == {"DELETE", "GET", "OPTIONS"}
