"""The contact aggregate: one sealed address, erasable, and nothing personal in its events."""

from __future__ import annotations

import uuid

import pytest

from ledger.contact import Contact, register_contact
from ledger.errors import NotFoundError
from tests.unit.world import STAFF, given, then


def registered() -> Contact:
    return given(register_contact(uuid.uuid4(), channel="email", sealed_address=b"ciphertext", actor=STAFF))


def test_a_registered_contact_holds_its_address_only_sealed() -> None:
    contact = register_contact(uuid.uuid4(), channel="sms", sealed_address=b"ciphertext", actor=STAFF)
    assert then(contact) == ["contact.registered"]
    assert (contact.channel, contact.sealed_address, contact.erased) == ("sms", b"ciphertext", False)
    contact.require_live()


def test_an_erased_contact_is_gone_and_cannot_be_erased_twice() -> None:
    contact = registered()
    contact.erase(STAFF)
    assert then(contact) == ["contact.erased"]
    with pytest.raises(NotFoundError):
        contact.require_live()
    with pytest.raises(NotFoundError):
        contact.erase(STAFF)
    assert then(contact) == []
