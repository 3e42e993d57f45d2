"""`evidence verify FILE --key VKEY` and `evidence verifier`: the offline verifier, run or copied out.

Both are `verifier/optin_verify.py`, a single stdlib + PyNaCl file: what this command runs is
exactly what an auditor who copied the file runs.
"""

from __future__ import annotations

from pathlib import Path

from verifier import optin_verify


def verify(file: str, key: str) -> int:
    return optin_verify.main([file, "--key", key])


def print_verifier() -> int:
    """Print the verifier's source (`optin-ledger evidence verifier > optin_verify.py`)."""
    print(Path(optin_verify.__file__).read_text(), end="")
    return 0
