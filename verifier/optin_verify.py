#!/usr/bin/env python3
"""Check an OptIn Ledger evidence bundle or consent receipt offline; say what it proves.

    python3 optin_verify.py FILE --key VKEY

FILE is a contact's evidence bundle (JSON, from `GET /v1/contacts/{id}/evidence`) or a consent
receipt (a JWS, or the JSON the receipts endpoint returns); VKEY is the ledger's public key in
C2SP signed-note verifier-key form (`name+hash+base64`, from `GET /v1/ledger/key`), obtained
from the operator through a channel you trust. Exit status 0: everything verified; 1: something
did not, and the first failure is named; 2: the file or key could not be read.

What is checked, with nothing but this file, the Python standard library and PyNaCl:
  - the checkpoint (signed tree head) carries a valid Ed25519 signature by VKEY (c2sp.org/signed-note,
    c2sp.org/tlog-checkpoint);
  - every event's record, hashed as an RFC 9162 leaf, is in the signed tree at index position − 1
    (c2sp.org/tlog-proof@v1 inclusion proofs, verified as RFC 9162 §2.1.3.2 says);
  - every event is about this contact, every disclosure text a consent names is in the bundle as
    a proven event and hashes to the SHA-256 the consent recorded;
  - the data key opens the personal fields (they are ciphertext inside the hashed records, so
    what it opens is exactly what was recorded); an erased contact has no key: shown as erased;
  - a receipt is a JWS (EdDSA) signed by the same key, naming its event's position and leaf hash.
A bundle cannot prove that no event was left out; a monitor (`optin-ledger audit monitor`)
watching the checkpoints is what shows the log was never rewritten.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import struct
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.secret
import nacl.signing

BUNDLE_FORMAT = "optin-ledger.evidence"
PROOF_HEADER = "c2sp.org/tlog-proof@v1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EMPTY = hashlib.sha256(b"").digest()


class Invalid(Exception):
    """Something did not verify; the message says what and where."""


# --- Signed notes and checkpoints (c2sp.org/signed-note, c2sp.org/tlog-checkpoint) -------------


class Key:
    """A verifier key: `<name>+<hex key id>+base64(0x01 || Ed25519 public key)`."""

    def __init__(self, vkey: str) -> None:
        try:
            name, key_id, encoded = vkey.strip().split("+", 2)
            material = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error) as e:
            raise Invalid("the key is not a signed-note verifier key (name+hash+base64)") from e
        if not name or len(material) != 33 or material[0] != 1:
            raise Invalid("the key is not an Ed25519 signed-note verifier key")
        self.name, self.public_key = name, material[1:]
        self.key_id = hashlib.sha256(name.encode() + b"\n" + material).digest()[:4]
        if key_id != self.key_id.hex():
            raise Invalid("the key's hash does not match its name and public key")
        self.verify_key = nacl.signing.VerifyKey(self.public_key)


def verify_note(note: str, key: Key) -> str:
    """The note's text, if a signature line by `key` verifies (others are ignored, per the spec)."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise Invalid("not a signed note (no blank line before the signatures)")
    text += "\n"
    for line in signatures[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014" or not parts[1] or not parts[2]:
            raise Invalid("a signature line of the note is malformed")
        _, name, encoded = parts
        try:
            signature = base64.b64decode(encoded, validate=True)
        except binascii.Error as e:
            raise Invalid("a signature of the note is not base64") from e
        if name != key.name or signature[:4] != key.key_id:
            continue  # another signer (a witness, say): not ours to judge
        try:
            key.verify_key.verify(text.encode(), signature[4:])
        except nacl.exceptions.BadSignatureError as e:
            raise Invalid(f"the signature by {key.name} does not verify") from e
        return text
    raise Invalid(f"the note is not signed by {key.name}")


def parse_checkpoint(note: str, key: Key) -> tuple[int, bytes]:
    """(size, root) of a checkpoint signed by `key`, whose origin must be the key's name."""
    lines = verify_note(note, key).split("\n")
    if len(lines) < 4 or lines[0] != key.name:
        raise Invalid(f"the checkpoint is not for the log {key.name}")
    size, root = lines[1], _b64(lines[2], "the checkpoint's root")
    if not size.isdigit() or (size != "0" and size.startswith("0")) or len(root) != 32:
        raise Invalid("the checkpoint's size or root is malformed")
    return int(size), root


# --- RFC 9162 Merkle trees ----------------------------------------------------------------------


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2 (and every hash must be a SHA-256 one)."""
    if index >= size or not _hashes(leaf, *path):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2. Equal sizes need an empty path and equal roots; the empty tree (whose
    root is SHA-256 of nothing) is a prefix of every tree, with an empty path."""
    if first > second or not _hashes(*path):
        return False
    if first == 0:
        return not path and first_root == _EMPTY and (second > 0 or second_root == _EMPTY)
    if first == second:
        return not path and first_root == second_root
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_root, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


def _hashes(*values: bytes) -> bool:
    return all(len(v) == 32 for v in values)


def parse_tlog_proof(text: str) -> tuple[int, list[bytes], str]:
    """(index, inclusion path, checkpoint note) of a c2sp.org/tlog-proof@v1 text."""
    head, sep, checkpoint = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or lines[0] != PROOF_HEADER:
        raise Invalid(f"not a {PROOF_HEADER} proof")
    lines = lines[1:]
    if lines and lines[0].startswith("extra "):
        lines = lines[1:]
    if not lines or not lines[0].startswith("index ") or not lines[0][6:].isdigit():
        raise Invalid("the proof has no index line")
    return int(lines[0][6:]), [_b64(h, "a proof hash") for h in lines[1:]], checkpoint


# --- The ledger's records -------------------------------------------------------------------------


def canonical(event: dict[str, Any]) -> bytes:
    """The bytes the ledger hashes for an event (its chain and its Merkle leaf): every integer
    big-endian, strings and bytes with a 4-byte length prefix, the time in epoch microseconds."""
    topic: bytes = event["topic"].encode()
    state = _b64(event["state"], "an event's state")
    recorded = datetime.fromisoformat(event["recorded_at"])
    micros = (recorded - _EPOCH) // timedelta(microseconds=1)
    head = struct.pack(">q16sqi", event["position"], uuid.UUID(event["originator_id"]).bytes,
                       event["originator_version"], len(topic))  # fmt: skip
    return head + topic + struct.pack(">i", len(state)) + state + struct.pack(">q", micros)


def leaf_hash(event: dict[str, Any]) -> bytes:
    return hashlib.sha256(b"\x00" + canonical(event)).digest()


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError) as e:
        raise Invalid(f"{what} is not base64") from e


# --- Evidence bundles -------------------------------------------------------------------------------


def verify_bundle(bundle: dict[str, Any], key: Key) -> list[dict[str, Any]]:
    """Check every signature, proof and record; return the events with their decoded state."""
    if bundle.get("format") != BUNDLE_FORMAT or bundle.get("version") != 1:
        raise Invalid(f"not an evidence bundle ({BUNDLE_FORMAT} version 1)")
    parse_checkpoint(bundle["checkpoint"], key)
    heads: dict[str, tuple[int, bytes]] = {}
    events = sorted(bundle["events"], key=lambda e: e["position"])
    for event in events:
        where = f"event at position {event['position']} ({event['topic']})"
        index, path, note = parse_tlog_proof(event["proof"])
        if note not in heads:
            heads[note] = parse_checkpoint(note, key)
        size, root = heads[note]
        if index != event["position"] - 1:
            raise Invalid(f"{where}: its proof is for another position")
        if not verify_inclusion(index, size, leaf_hash(event), path, root):
            raise Invalid(f"{where}: the record is not the one in the signed tree (its proof fails)")
        try:
            event["data"] = json.loads(_b64(event["state"], where))
        except ValueError as e:
            raise Invalid(f"{where}: its state is not JSON") from e
    _check_belongs(bundle, events)
    _check_disclosures(bundle, events)
    _check_key(bundle, events)
    return events


def _check_belongs(bundle: dict[str, Any], events: list[dict[str, Any]]) -> None:
    contact = bundle["contact_id"]
    programs = {str(e["data"].get("optin_id")) for e in events if e["data"].get("contact_id") == contact}
    for event in events:
        mine = event["originator_id"] == contact or event["data"].get("contact_id") == contact
        if not mine and not (event["topic"].startswith("optin.") and event["originator_id"] in programs):
            raise Invalid(f"event at position {event['position']}: not about contact {contact}")


def _texts(events: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    """Each program's disclosure texts by version, from the proven program events."""
    texts = {}
    for e in events:
        if e["topic"] == "optin.created":
            texts[(e["originator_id"], 1)] = e["data"]["disclosure"]
        elif e["topic"] == "optin.disclosure_changed":
            texts[(e["originator_id"], e["data"]["version"])] = e["data"]["disclosure"]
    return texts


def _check_disclosures(bundle: dict[str, Any], events: list[dict[str, Any]]) -> None:
    texts = _texts(events)
    for e in events:
        evidence = e["data"].get("evidence") or {}
        if evidence.get("disclosure_sha256") is None:
            continue
        text = texts.get((str(e["data"]["optin_id"]), int(evidence.get("disclosure_version") or 0)))
        if text is None:
            raise Invalid(f"event at position {e['position']}: the disclosure text it names is missing")
        if hashlib.sha256(text.encode()).hexdigest() != evidence["disclosure_sha256"]:
            raise Invalid(f"event at position {e['position']}: the disclosure text does not match its hash")
    for shown in bundle.get("disclosures", []):
        if texts.get((shown["optin_id"], shown["version"])) != shown["text"]:
            raise Invalid(
                f"the disclosure text of {shown['optin_id']} v{shown['version']} is not the recorded one"
            )


def _check_key(bundle: dict[str, Any], events: list[dict[str, Any]]) -> None:
    if bundle.get("data_key") is None:
        return
    registered = [e for e in events if e["topic"] == "contact.registered"]
    if not registered or opened(bundle, registered[0]["data"]["sealed_address"]) is None:
        raise Invalid("the data key does not open the contact's registered address")


def opened(bundle: dict[str, Any], sealed: str | None) -> str | None:
    """A sealed field in clear, or None when the contact is erased (no key) or it does not open."""
    if sealed is None or bundle.get("data_key") is None:
        return None
    try:
        box = nacl.secret.SecretBox(_b64(bundle["data_key"], "the data key"))
        return box.decrypt(_b64(sealed, "a sealed field")).decode()
    except (nacl.exceptions.CryptoError, UnicodeDecodeError):
        return None


# --- Consent receipts (Kantara Consent Receipt v1.1 fields, JWS EdDSA) ---------------------------


def verify_receipt(jws: str, key: Key) -> dict[str, Any]:
    """The receipt's claims, if the compact JWS is signed by `key`."""
    try:
        header_b64, payload_b64, signature_b64 = jws.strip().split(".")
        header = json.loads(_b64url(header_b64))
        payload: dict[str, Any] = json.loads(_b64url(payload_b64))
    except ValueError as e:
        raise Invalid("the receipt is not a compact JWS") from e
    if header.get("alg") != "EdDSA" or header.get("kid") != f"{key.name}+{key.key_id.hex()}":
        raise Invalid("the receipt is not signed (EdDSA) by this key")
    try:
        key.verify_key.verify(f"{header_b64}.{payload_b64}".encode(), _b64url(signature_b64))
    except nacl.exceptions.BadSignatureError as e:
        raise Invalid("the receipt's signature does not verify") from e
    return payload


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- In plain words ---------------------------------------------------------------------------------

_WORDS = {
    "contact.registered": "registered",
    "contact.erased": "ERASED (personal data shredded)",
    "consent.requested": "consent requested",
    "consent.granted": "OPTED IN",
    "consent.withdrawn": "OPTED OUT",
    "consent.lapsed": "request lapsed (no answer)",
    "channel.opted_out": "OPTED OUT of the whole channel",
    "channel.resubscribed": "resubscribed to the channel",
    "verification.issued": "one-time code sent",
    "verification.confirmed": "code confirmed (control of the address proven)",
    "verification.failed": "wrong code entered",
    "verification.locked": "code locked after too many attempts",
    "verification.expired": "code expired",
    "evidence.exported": "evidence bundle exported",
}


def describe(bundle: dict[str, Any], events: list[dict[str, Any]]) -> list[str]:
    """The contact's history, one line per event, then the consent now per program and channel."""
    names = {
        e["originator_id"]: e["data"]["name"]
        for e in events
        if e["topic"] in ("optin.created", "optin.renamed")
    }
    texts = _texts(events)
    lines, status = [], {}
    for e in events:
        d = e["data"]
        if e["topic"].startswith("optin."):
            continue
        what = _WORDS.get(e["topic"], e["topic"].replace(".", " "))
        program = names.get(str(d.get("optin_id")), d.get("optin_id"))
        about = (
            f" {program} / {d.get('channel')}"
            if d.get("optin_id")
            else f" {d['channel']}"
            if "channel" in d
            else ""
        )
        line = f"{e['recorded_at']}  #{e['position']}{about}: {what}"
        if e["topic"] == "contact.registered":
            address = opened(bundle, d.get("sealed_address"))
            line += f" {d['channel']} address {address if address is not None else '(erased)'}"
        lines.append(line + _evidence_words(bundle, d, texts))
        if e["topic"] in ("consent.granted", "consent.withdrawn"):
            status[(program, d["channel"])] = (what, e["recorded_at"], e["position"])
    lines.append("")
    lines.append("Consent as of the checkpoint:" if status else "No consent was ever given or withdrawn.")
    for (program, channel), (what, when, position) in sorted(status.items(), key=str):
        lines.append(f"  {program} / {channel}: {what} since {when} (event #{position})")
    return lines


def _evidence_words(bundle: dict[str, Any], data: dict[str, Any], texts: dict[tuple[str, int], str]) -> str:
    evidence = data.get("evidence")
    if not evidence:
        return ""
    words = f"\n      source {evidence['source']}, by {evidence['actor']['kind']}"
    if evidence.get("keyword"):
        words += f", keyword {evidence['keyword']}"
    if evidence.get("sealed_client"):
        words += f", client {_client(opened(bundle, evidence['sealed_client']))}"
    if evidence.get("sealed_reason"):
        words += f", reason: {opened(bundle, evidence['sealed_reason']) or '(erased)'}"
    if evidence.get("disclosure_sha256"):
        text = texts[(str(data["optin_id"]), evidence["disclosure_version"])]
        version, digest = evidence["disclosure_version"], evidence["disclosure_sha256"]
        words += f"\n      saw disclosure v{version} (sha256 {digest}):"
        words += f'\n      "{text}"'
    return words


def _client(opened_client: str | None) -> str:
    """The IP and user agent recorded with a consent, from their sealed JSON."""
    if opened_client is None:
        return "(erased)"
    try:
        client = json.loads(opened_client)
        return f"IP {client.get('ip') or '?'}, user agent {client.get('user_agent') or '?'}"
    except (ValueError, AttributeError):
        return opened_client


# --- Command line -----------------------------------------------------------------------------------


def check(content: str, key: Key) -> list[str]:
    """Verify a bundle or a receipt; the report's lines (raises `Invalid` at the first failure)."""
    stripped = content.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except ValueError as e:
            raise Invalid("the file is not JSON") from e
        if "jws" in document:
            stripped = document["jws"]
        else:
            try:
                events = verify_bundle(document, key)
            except (KeyError, TypeError, AttributeError) as e:
                raise Invalid(f"the bundle is malformed (missing or wrong field {e})") from e
            size, _ = parse_checkpoint(document["checkpoint"], key)
            return [
                f"ok: {len(events)} events of contact {document['contact_id']} are in the log {key.name}, "
                f"checkpoint of size {size}",
                *describe(document, events),
            ]
    claims = verify_receipt(stripped, key)
    return [
        f"ok: receipt {claims.get('consentReceiptID')} signed by {key.name}",
        f"  {claims.get('ledgerEvent')} at position {claims.get('ledgerPosition')}, "
        f"{datetime.fromtimestamp(claims.get('consentTimestamp', 0), UTC).isoformat()}",
        *(
            f"  {s.get('service')}: {p.get('purpose')}"
            for s in claims.get("services", [])
            for p in s.get("purposes", [])
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", help="evidence bundle (JSON) or receipt (JWS); - for standard input")
    parser.add_argument("--key", required=True, help="the ledger's verifier key (name+hash+base64)")
    args = parser.parse_args(argv)
    try:
        content = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        key = Key(args.key)
    except (OSError, UnicodeDecodeError) as e:
        print(f"cannot read {args.file}: {e}", file=sys.stderr)
        return 2
    except Invalid as e:
        print(f"bad key: {e}", file=sys.stderr)
        return 2
    try:
        print("\n".join(check(content, key)))
    except Invalid as e:
        print(f"FAILED: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
