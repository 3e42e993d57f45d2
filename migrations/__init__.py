"""Plain SQL migrations, applied in name order by `optin-ledger migrate` (adapters/postgres/migrations.py)."""
