"""Cryptography (pynacl): per-contact data keys wrapped by a key-encryption key, blind indexes."""
