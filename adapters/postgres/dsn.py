"""PostgreSQL connection strings: swap the database, turn a URL into libpq keywords."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def database_name(dsn: str) -> str:
    return unquote(urlsplit(dsn).path.lstrip("/")) or "postgres"


def libpq_params(dsn: str) -> dict[str, str]:
    """host, port, user, password, dbname from a URL (a `?host=/socket/dir` query included)."""
    parts = urlsplit(dsn)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return {
        "host": query.get("host") or parts.hostname or "localhost",
        "port": str(query.get("port") or parts.port or 5432),
        "user": unquote(parts.username or query.get("user") or "postgres"),
        "password": unquote(parts.password or query.get("password") or ""),
        "dbname": database_name(dsn),
    }


def describe(dsn: str) -> str:
    """`host:port/database`, for messages: never the user or the password."""
    params = libpq_params(dsn)
    return f"{params['host']}:{params['port']}/{params['dbname']}"
