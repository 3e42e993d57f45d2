"""Plain SQL migrations, applied in file-name order by `optin-ledger migrate` (see adapters.postgres.migrations)."""
