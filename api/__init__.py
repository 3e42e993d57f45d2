"""The HTTP face of the ledger (Litestar): JSON API, pages, and the command line that serves them."""
