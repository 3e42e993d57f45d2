"""Composing a message: what staff see (the preview) has no personal value in it, and is the
same for every message of a template with the same variables (it is rendered once for them)."""

from __future__ import annotations

import uuid

from api.auth.unsubscribe_tokens import UnsubscribeTokens
from ledger.composer import Composer
from ledger.default_templates import default_template
from ledger.template import Template, create_template
from ledger.vocabulary import SYSTEM
from tests.unit.world import World

KEY = bytes(32)


def composer(world: World) -> Composer:
    return Composer(world.repository, world.sealer, UnsubscribeTokens(bytes(32), "https://ledger.test"))


def preview(composer: Composer, template: Template, program: str, **variables: str) -> str:
    system = {"program_name": program, "unsubscribe_url": f"https://ledger.test/u/{uuid.uuid4()}"}
    composed = composer.compose(
        template, key=KEY, purpose="transactional", variables=variables, system=system
    )
    opened = composer.sealer.open(KEY, composed.sealed.text)
    assert opened is not None and variables["message"] in opened  # the message itself, in full
    return composed.preview


def test_each_message_of_a_template_shows_staff_the_same_masked_text() -> None:
    c = composer(World())
    template = default_template("transactional", "email")
    first = preview(c, template, "Orders", subject="Order 7731", message="For Ms Example, 12 Elm St")
    again = preview(c, template, "Orders", subject="Order 9", message="For Mr Other, 3 Oak Road")
    assert first == again == "Subject: [subject]\n\n[message]"


def test_the_preview_follows_the_template_the_program_and_the_variables() -> None:
    c = composer(World())
    template = default_template("transactional", "email")
    other = create_template(
        name="Orders", kind="transactional", channel="email", subject="{{ program_name }}: {{ subject }}",
        body="<p>{{ program_name }} says {{ message }}</p>", actor=SYSTEM,
    )  # fmt: skip
    assert (
        preview(c, other, "Orders", subject="a", message="b")
        == "Subject: Orders: [subject]\n\nOrders says [message]"
    )
    assert (
        preview(c, other, "Shop", subject="a", message="b")
        == "Subject: Shop: [subject]\n\nShop says [message]"
    )
    assert (
        preview(c, template, "Shop", subject="a", message="b", extra="c") == "Subject: [subject]\n\n[message]"
    )
    sms = default_template("transactional", "sms")
    assert preview(c, sms, "Shop", message="Your code is 1234") == "[message]"
