"""The `optin-ledger` subcommands, one module per group."""
