"""The authentication side of the composition root: what `create_app` and the CLI build for auth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from litestar.datastructures import State

from adapters.postgres.credentials import PostgresCredentials
from adapters.postgres.throttle import PostgresThrottle
from adapters.settings import Settings
from api.auth.accounts import Accounts
from api.auth.authenticator import Authenticator
from api.auth.directory import UserDirectory
from api.auth.login import LoginService
from api.auth.passwords import PasswordHasher
from ledger.repository import Repository


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class AuthServices:
    accounts: Accounts
    directory: UserDirectory
    login: LoginService
    authenticator: Authenticator
    clock: Callable[[], datetime] = field(default=utc_now)


def create_auth_services(
    settings: Settings, pool: asyncpg.Pool, repository: Repository, hasher: PasswordHasher | None = None
) -> AuthServices:
    credentials = PostgresCredentials(pool)
    directory = UserDirectory(pool)
    accounts = Accounts(
        repository,
        credentials,
        hasher or PasswordHasher(),
        index_key=settings.index_key,
        token_key=settings.token_key,
    )
    login = LoginService(
        accounts, credentials, directory, PostgresThrottle(pool), token_key=settings.token_key, clock=utc_now
    )
    authenticator = Authenticator(directory, credentials, settings.token_key, utc_now)
    accounts.changed = authenticator.forget_keys
    return AuthServices(accounts=accounts, directory=directory, login=login, authenticator=authenticator)


def provide_auth(state: State) -> AuthServices:
    auth: AuthServices = state.auth
    return auth
