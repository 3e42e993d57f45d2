"""The consent domain: aggregates, events, decisions and the ports they need (no I/O here)."""
