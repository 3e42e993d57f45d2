"""Read models materialised from the ledger, and the runner that keeps them up to date."""
