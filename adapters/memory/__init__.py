"""In-memory adapters for the ledger's ports: the core runs and is tested without PostgreSQL."""
