"""Consent receipts: each opt-in and opt-out as a Kantara Consent Receipt (v1.1 field names,
the structure ISO/IEC TS 27560 builds on), signed as a compact JWS (EdDSA, RFC 8037).

A receipt is derived from its ledger event, never stored: the same event and settings give the
same claims, and Ed25519 signatures are deterministic, so the same JWS every time. Beyond the
Kantara fields it names the event (`ledgerPosition`, `ledgerEvent`, `ledgerLeafHash`), so a
receipt can be matched to its proof in the log.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

import msgspec

from ledger.consent import Consent
from ledger.signed_note import NoteSigner, key_id
from ledger.vocabulary import Channel, Purpose

KANTARA_VERSION = "KI-CR-v1.1.0"
_METHODS = {
    "web": "web page, after a one-time code proved control of the address",
    "api": "an application acting for the contact",
    "sms_keyword": "SMS keyword reply from the phone",
    "email_one_click": "one-click unsubscribe link in an email",
    "admin": "recorded by staff at the contact's request",
    "import": "imported from an earlier system",
}
_PII = {"email": "Contact (email address)", "sms": "Contact (phone number)"}


class Controller(msgspec.Struct, frozen=True, kw_only=True):
    """Who collects the data (Kantara's PII controller), from the service's settings."""

    name: str
    url: str
    email: str
    jurisdiction: str


class ProgramTerms(msgspec.Struct, frozen=True, kw_only=True):
    """The program as it stood when the event was recorded."""

    name: str
    description: str
    purpose: Purpose


def receipt_claims(
    controller: Controller,
    signer: NoteSigner,
    position: int,
    recorded_at: datetime,
    leaf: bytes,
    change: Consent.Granted | Consent.Withdrawn,
    terms: ProgramTerms,
) -> dict[str, Any]:
    """The receipt of one consent event (recorded at `position`, with Merkle leaf `leaf`)."""
    granted = isinstance(change, Consent.Granted)
    evidence = change.evidence
    channel: Channel = change.channel
    return {
        "version": KANTARA_VERSION,
        "jurisdiction": controller.jurisdiction,
        "consentTimestamp": int(recorded_at.timestamp()),
        "collectionMethod": _METHODS.get(evidence.source, evidence.source),
        "consentReceiptID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{signer.name}/{position}")),
        "publicKey": base64.b64encode(signer.public_key).decode(),
        "language": "en",
        "piiPrincipalId": str(change.contact_id),
        "piiControllers": [
            {
                "piiController": controller.name,
                "contact": controller.name,
                "address": {},
                "email": controller.email,
                "phone": "",
                "piiControllerUrl": controller.url,
            },
        ],
        "policyUrl": controller.url,
        "services": [
            {
                "service": terms.name,
                "purposes": [
                    {
                        "purpose": terms.description or f"{terms.purpose} messages by {channel}",
                        "purposeCategory": [terms.purpose],
                        "consentType": "EXPLICIT",
                        "piiCategory": [_PII[channel]],
                        "primaryPurpose": True,
                        "termination": "until withdrawn" if granted else "withdrawn",
                        "thirdPartyDisclosure": False,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        "consentStatus": "opted_in" if granted else "opted_out",
        "channel": channel,
        "optinId": str(change.optin_id),
        "disclosureVersion": evidence.disclosure_version,
        "disclosureSha256": evidence.disclosure_sha256,
        "ledgerOrigin": signer.name,
        "ledgerEvent": change.TOPIC,
        "ledgerPosition": position,
        "ledgerLeafHash": base64.b64encode(leaf).decode(),
    }


def compact_jws(claims: dict[str, Any], signer: NoteSigner) -> str:
    """`claims` as a compact JWS signed with EdDSA (Ed25519); `kid` names the signed-note key."""
    header = {
        "alg": "EdDSA",
        "typ": "JWT",
        "kid": f"{signer.name}+{key_id(signer.name, signer.public_key).hex()}",
    }
    signing_input = f"{_b64url(msgspec.json.encode(header))}.{_b64url(msgspec.json.encode(claims))}"
    return f"{signing_input}.{_b64url(signer.sign(signing_input.encode()))}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
