"""PostgreSQL: the embedded server, connection pools, migrations and the event store (asyncpg)."""
