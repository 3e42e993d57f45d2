"""The ledger's connections to the outside world: PostgreSQL, crypto, SMS, email, settings, logs."""
