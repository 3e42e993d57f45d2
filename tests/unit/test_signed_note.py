"""Signed notes, checkpoints and tlog-proofs in the C2SP formats, checked against the specs' own
examples and with PyNaCl directly (not through the project's verifier)."""

from __future__ import annotations

import base64
import hashlib
import secrets

import nacl.signing
import pytest

from adapters.crypto.signing import Ed25519Signer
from ledger.checkpoint import checkpoint_body, sign_checkpoint
from ledger.signed_note import NoteError, key_id, sign_note, verifier_key
from ledger.tlog_proof import format_proof
from verifier import optin_verify

# c2sp.org/signed-note, "Verifier keys / Example".
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def test_the_key_id_and_verifier_key_are_those_of_the_spec_example() -> None:
    public_key = base64.b64decode("AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")[1:]
    assert key_id("example.com/foo", public_key).hex() == "530d903a"
    assert verifier_key("example.com/foo", public_key) == SPEC_VKEY


def test_the_offline_verifier_accepts_the_spec_example_and_refuses_a_changed_text() -> None:
    key = optin_verify.Key(SPEC_VKEY)
    assert optin_verify.verify_note(SPEC_NOTE, key) == "This is an example message.\n"
    with pytest.raises(optin_verify.Invalid, match="does not verify"):
        optin_verify.verify_note(SPEC_NOTE.replace("example message", "exemplary message"), key)


def test_a_signed_checkpoint_verifies_with_pynacl_by_the_spec_rules() -> None:
    seed = secrets.token_bytes(32)
    signer = Ed25519Signer(seed, "ledger.example/v1/ledger")
    root = hashlib.sha256(b"root").digest()
    checkpoint = sign_checkpoint(signer, 42, root)
    body = f"ledger.example/v1/ledger\n42\n{base64.b64encode(root).decode()}\n"
    assert checkpoint_body(signer.name, 42, root) == body
    text, _, signature_line = checkpoint.note.rpartition("\n\n")
    assert text + "\n" == body
    dash, name, encoded = signature_line.rstrip("\n").split(" ")
    assert (dash, name) == ("\u2014", "ledger.example/v1/ledger")
    signature = base64.b64decode(encoded)
    public = nacl.signing.SigningKey(seed).verify_key
    expected_id = hashlib.sha256(b"ledger.example/v1/ledger\n\x01" + bytes(public)).digest()[:4]
    assert signature[:4] == expected_id
    public.verify(body.encode(), signature[4:])  # raises if it does not verify


def test_a_tlog_proof_is_header_index_hashes_blank_line_checkpoint() -> None:
    signer = Ed25519Signer(secrets.token_bytes(32), "ledger.example/v1/ledger")
    checkpoint = sign_checkpoint(signer, 3, bytes(32))
    one, two = b"\x01" * 32, b"\x02" * 32
    text = format_proof(1, [one, two], checkpoint.note)
    lines = [
        "c2sp.org/tlog-proof@v1",
        "index 1",
        base64.b64encode(one).decode(),
        base64.b64encode(two).decode(),
    ]
    assert text.startswith("\n".join(lines) + "\n\n")
    assert text.endswith(checkpoint.note)
    assert optin_verify.parse_tlog_proof(text) == (1, [one, two], checkpoint.note)


def test_notes_refuse_what_the_format_does_not_allow() -> None:
    signer = Ed25519Signer(secrets.token_bytes(32), "ok.example")
    with pytest.raises(NoteError):
        sign_note("no final newline", signer)
    with pytest.raises(NoteError):
        sign_note("a\x07bell\n", signer)
    with pytest.raises(NoteError):
        Ed25519Signer(secrets.token_bytes(32), "has space")
    with pytest.raises(optin_verify.Invalid, match="hash does not match"):
        optin_verify.Key(SPEC_VKEY.replace("530d903a", "530d903b"))


def test_a_signature_by_another_key_is_ignored_but_one_is_needed() -> None:
    ours = Ed25519Signer(secrets.token_bytes(32), "ledger.example")
    witness = Ed25519Signer(secrets.token_bytes(32), "witness.example")
    note = sign_note("hello\n", ours)
    cosigned = note + sign_note("hello\n", witness).rpartition("\n\n")[2]
    assert optin_verify.verify_note(cosigned, optin_verify.Key(ours.verifier_key)) == "hello\n"
    with pytest.raises(optin_verify.Invalid, match="not signed by"):
        optin_verify.verify_note(sign_note("hello\n", witness), optin_verify.Key(ours.verifier_key))
