"""The offline verifier: one stdlib + PyNaCl file (`optin_verify.py`) an auditor can copy and read."""
