"""The composition root: settings and a pool in, every use case wired to its adapters out.

`serve` (through `create_app`), `worker`, `project`, `retention`, `backup`/`restore`, `users` and
the benchmarks all build their objects here, so they all erase, limit and send the same way (the
erasure log, for one, is wired in wherever a contact can be erased). Nothing connects or starts
here: the caller owns the pool and the tasks.

Reads: `serve` also opens a pool on the read replica when `DATABASE_READ_URL` is set
(`open_read_pool`, next to the primary's); it becomes `Components.replica`, and the read handlers
get it, or the primary, per request from `api/dependencies.py` (`read_db`). Everything else here
(writes, `as_of` replays, authentication, the projection runner) stays on the primary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from uuid import UUID

import asyncpg

from adapters import metrics
from adapters.background import AsyncioBackground
from adapters.clock import SystemClock
from adapters.crypto.codes import HmacCodes
from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from adapters.crypto.signing import ledger_signer
from adapters.email.feedback.verp import ReturnPaths, derive_verp_key
from adapters.erasure_log import erasure_log
from adapters.import_files import FileImports
from adapters.postgres.address_book import PostgresAddressBook
from adapters.postgres.audit_export import PostgresAuditExport
from adapters.postgres.availability import availability_of
from adapters.postgres.contact_sessions import PostgresContactLogouts
from adapters.postgres.credentials import PostgresCredentials
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.locks import PostgresLocks
from adapters.postgres.orphans import forget_orphans
from adapters.postgres.pool import Connection
from adapters.postgres.rate_limits import PostgresRateLimiter
from adapters.postgres.replica import ReplicaPool, open_replica_pool
from adapters.postgres.staff_emails import StaffEmails
from adapters.postgres.throttle import PostgresThrottle
from adapters.postgres.transparency_log import TransparencyLog
from adapters.settings import Settings
from adapters.webhooks.secrets import WebhookSecrets
from api.auth.api_keys import HmacApiKeys
from api.auth.authenticator import Authenticator
from api.auth.directory import UserDirectory
from api.auth.login import LoginService, throttle_keys
from api.auth.passwords import PasswordHasher
from api.auth.receipt_links import ReceiptLinkTokens
from api.auth.unsubscribe_tokens import UnsubscribeTokens
from api.evidence import Evidence, controller_of
from ledger.application.channel_preferences import ChannelPreferences, ProgramIds
from ledger.application.consent import ConsentFlows
from ledger.application.consent_receipts import ConsentReceipts
from ledger.application.consent_requests import ConsentRequests
from ledger.application.contacts import ContactRegistry
from ledger.application.exports import ConsentExports
from ledger.application.guardrails import Guardrails, Limits
from ledger.application.inbound_sms import InboundSms
from ledger.application.login import Login
from ledger.application.messaging import Messaging
from ledger.application.programs import Programs
from ledger.application.receipts import DeliveryReceipts
from ledger.application.retention import Retention
from ledger.application.revocation import InboundRevocation
from ledger.application.self_service import SelfService
from ledger.application.templates import Templates
from ledger.application.unsubscribe import Unsubscribe
from ledger.application.users import Accounts
from ledger.application.webhooks import WebhookRegistry
from ledger.composer import Composer
from ledger.help_reply import help_reply
from ledger.keywords import Keywords
from ledger.ports import ReadModels
from ledger.repository import Repository
from ledger.revocation import RevocationClassifier
from ledger.vocabulary import Channel
from projections import consent_export
from projections import contacts as contacts_read
from projections import verifications as verifications_read
from projections.catalog import all_projections
from projections.consent_checks import ConsentChecks
from projections.consent_receipts import ConsentReceiptFollower
from projections.read_models import CatchingUpReadModels, FollowingReadModels
from projections.runner import ProjectionRunner, read_models_position
from projections.verifications import PostgresVerificationLookup


@dataclass(slots=True)
class Components:
    """One process's object graph. Request handlers never get it whole: each controller picks
    the parts its handlers use (`api/dependencies.py`)."""

    settings: Settings
    pool: asyncpg.Pool
    replica: ReplicaPool | None
    store: PostgresEventStore
    repository: Repository
    clock: SystemClock
    runner: ProjectionRunner
    reads: ReadModels
    background: AsyncioBackground
    limiter: PostgresRateLimiter
    contacts: ContactRegistry
    guardrails: Guardrails
    flows: ConsentFlows
    consent_requests: ConsentRequests
    self_service: SelfService
    programs: Programs
    templates: Templates
    accounts: Accounts
    directory: UserDirectory
    login: LoginService
    authenticator: Authenticator
    tokens: UnsubscribeTokens
    composer: Composer
    preferences: ChannelPreferences
    messaging: Messaging
    inbound: InboundSms
    unsubscribe: Unsubscribe
    receipts: DeliveryReceipts
    retention: Retention
    audit: PostgresAuditExport
    transparency: TransparencyLog
    evidence: Evidence
    revocation: InboundRevocation
    webhooks: WebhookRegistry
    webhook_secrets: WebhookSecrets
    imports: FileImports
    exports: ConsentExports
    receipt_links: ReceiptLinkTokens
    consent_receipts: ConsentReceipts
    consent_checks: ConsentChecks

    async def close(self) -> None:
        """Stop the event store's writer and close the replica's pool (the primary's is the
        caller's to close)."""
        await self.store.close()
        if self.replica is not None:
            await self.replica.close()


async def open_read_pool(settings: Settings, pool: asyncpg.Pool) -> ReplicaPool | None:
    """The read replica's pool beside the primary's `pool` (None without `DATABASE_READ_URL`):
    as large as the primary's, checked in the background until `Components.close()`."""
    if settings.read_replica is None:
        return None
    names = [p.name for p in all_projections(settings)]

    async def reached(db: asyncpg.Pool | Connection) -> int | None:
        return await read_models_position(db, names)

    return await open_replica_pool(
        settings.read_replica,
        pool,
        reached,
        max_size=pool.get_max_size(),
        statement_cache_size=settings.db_statement_cache,
    )


def compose(
    settings: Settings,
    pool: asyncpg.Pool,
    *,
    replica: ReplicaPool | None = None,
    follow: bool = True,
    hasher: PasswordHasher | None = None,
) -> Components:
    """Everything on `pool`; `replica` (from `open_read_pool`) for the read handlers. `follow`: a
    projection runner follows the ledger (in this process or another), so writes that must be
    seen wait for it; else (one-off commands) they bring the read models up to date themselves.
    `hasher`: tests pass a cheap one."""
    if settings.kek is None or settings.index_key is None or settings.token_key is None:
        raise ValueError("the service needs OPTIN_KEK, OPTIN_INDEX_KEY and OPTIN_TOKEN_KEY")
    clock, store = SystemClock(), PostgresEventStore(pool)
    repository = Repository(store)
    runner = ProjectionRunner(pool, all_projections(settings))
    reads: ReadModels = FollowingReadModels(pool) if follow else CatchingUpReadModels(runner)
    contacts = _contacts(settings, pool, repository)
    limiter = PostgresRateLimiter(pool)
    limits = _limits(settings)
    guardrails = Guardrails(limiter, repository, limits, observe=metrics.code_requested)
    flows = ConsentFlows(repository, contacts, HmacCodes(settings.token_key), clock)
    background = AsyncioBackground(availability_of(pool))
    tokens = unsubscribe_tokens(settings)
    composer = Composer(repository, contacts.sealer, tokens)
    preferences = ChannelPreferences(repository, _program_ids(pool))
    accounts, directory, authenticator, login = _staff(settings, pool, repository, reads, hasher, background)
    transparency = TransparencyLog(pool, ledger_signer(settings.signing_key, settings.log_origin))
    evidence = Evidence(pool, transparency, contacts.keys, controller_of(settings), repository, clock)
    revocation = _revocation(settings, contacts, preferences, clock, reads)
    webhook_secrets = WebhookSecrets(pool, settings.kek)
    receipt_links = ReceiptLinkTokens(settings.token_key, settings.public_url)
    return Components(
        settings=settings,
        pool=pool,
        replica=replica,
        store=store,
        repository=repository,
        clock=clock,
        runner=runner,
        reads=reads,
        background=background,
        limiter=limiter,
        contacts=contacts,
        guardrails=guardrails,
        flows=flows,
        consent_requests=ConsentRequests(flows, contacts, guardrails),
        self_service=SelfService(
            contacts, flows, guardrails, PostgresVerificationLookup(pool), reads, background
        ),
        programs=Programs(repository),
        templates=Templates(repository, settings.public_url),
        accounts=accounts,
        directory=directory,
        login=login,
        authenticator=authenticator,
        tokens=tokens,
        composer=composer,
        preferences=preferences,
        messaging=Messaging(composer, flows, guardrails),
        inbound=_inbound(settings, contacts, preferences, composer, revocation, receipt_links),
        unsubscribe=Unsubscribe(contacts, preferences),
        receipts=DeliveryReceipts(repository, clock),
        retention=_retention(pool, repository, contacts, limiter, limits.window),
        audit=PostgresAuditExport(pool),
        transparency=transparency,
        evidence=evidence,
        revocation=revocation,
        webhooks=WebhookRegistry(repository, webhook_secrets, clock),
        webhook_secrets=webhook_secrets,
        imports=FileImports(pool, store, settings.kek, settings.index_key, settings.default_region),
        exports=ConsentExports(
            repository, contacts.keys, contacts.sealer, lambda ids: consent_export.sealed_addresses(pool, ids)
        ),
        receipt_links=receipt_links,
        consent_receipts=ConsentReceipts(
            contacts, composer, receipt_links, evidence, channels=receipt_channels(settings)
        ),
        consent_checks=ConsentChecks(pool, contacts, store, repository.mapper),
    )


def receipt_channels(settings: Settings) -> frozenset[Channel]:
    """The channels consent receipts are sent on: those the settings keep on, if anything signs."""
    if settings.signing_key is None:
        return frozenset()
    on: dict[Channel, bool] = {"email": settings.receipts_email, "sms": settings.receipts_sms}
    return frozenset(channel for channel, sent in on.items() if sent)


def receipt_follower(parts: Components) -> ConsentReceiptFollower | None:
    """The follower that queues consent receipts (run beside the projections), if any are sent."""
    if not parts.consent_receipts.channels:
        return None
    return ConsentReceiptFollower(parts.pool, parts.consent_receipts.deliver)


def _contacts(settings: Settings, pool: asyncpg.Pool, repository: Repository) -> ContactRegistry:
    """The one contact registry: every process that can erase also writes the erasure log."""
    assert settings.kek and settings.index_key
    return ContactRegistry(
        repository,
        PostgresDataKeys(pool, settings.kek),
        PostgresAddressBook(pool),
        NaclSealer(settings.index_key),
        erasure_log(settings.erasure_log_location),
        default_region=settings.default_region,
    )


def _staff(
    settings: Settings,
    pool: asyncpg.Pool,
    repository: Repository,
    reads: ReadModels,
    hasher: PasswordHasher | None,
    background: AsyncioBackground,
) -> tuple[Accounts, UserDirectory, Authenticator, LoginService]:
    """Account commands, the users read model, authentication and login."""
    emails = StaffEmails(pool, settings.index_key)
    clock, directory, credentials = (
        SystemClock(),
        UserDirectory(pool, emails),
        PostgresCredentials(pool, emails),
    )
    hasher = hasher or PasswordHasher()
    accounts = Accounts(
        repository,
        credentials,
        hasher,
        HmacApiKeys(settings.token_key),
        admins=directory,
        locks=PostgresLocks(pool),
        reads=reads,
        index_key=settings.index_key,
    )
    authenticator = Authenticator(
        directory, credentials, settings.token_key, clock.now, PostgresContactLogouts(pool)
    )
    accounts.changed = authenticator.forget_keys  # a changed account's cached key answers go
    logins = Login(
        accounts,
        credentials,
        directory,
        PostgresThrottle(pool),
        hasher,
        background,
        keyed=throttle_keys(settings.token_key),
        clock=clock.now,
    )
    return accounts, directory, authenticator, LoginService(logins, token_key=settings.token_key)


def _inbound(
    settings: Settings,
    contacts: ContactRegistry,
    preferences: ChannelPreferences,
    composer: Composer,
    revocation: InboundRevocation,
    links: ReceiptLinkTokens,
) -> InboundSms:
    keywords = Keywords(
        stop=frozenset(settings.sms_stop_keywords),
        start=frozenset(settings.sms_start_keywords),
        help=frozenset(settings.sms_help_keywords),
    )
    return InboundSms(
        contacts,
        preferences,
        composer,
        keywords,
        help_text=help_reply(
            settings.sms_help_text, settings.sender_name, settings.sender_contact or settings.public_url
        ),
        sender_name=settings.sender_name,
        revocation=revocation,
        receipts=links if settings.signing_key is not None else None,
        receipt_line="sms" in receipt_channels(settings),
    )


def _revocation(
    settings: Settings,
    contacts: ContactRegistry,
    preferences: ChannelPreferences,
    clock: SystemClock,
    reads: ReadModels,
) -> InboundRevocation:
    """Replies in other words than STOP, screened in the languages the STOP keywords name."""
    compliance = settings.compliance
    return InboundRevocation(
        contacts,
        preferences,
        RevocationClassifier.for_keywords(settings.sms_stop_keywords),
        compliance.deadline_policy(),
        compliance.review_time,
        clock,
        reads,
        observe=metrics.revocation_screened,
    )


def _retention(
    pool: asyncpg.Pool,
    repository: Repository,
    contacts: ContactRegistry,
    limiter: PostgresRateLimiter,
    window: timedelta,
) -> Retention:
    throttle = PostgresThrottle(pool)
    return Retention(
        repository,
        contacts,
        SystemClock(),
        idle_contacts=lambda before, limit: contacts_read.idle_without_consent(pool, before, limit),
        stale_codes=lambda now, limit: verifications_read.stale(pool, now, limit),
        forget_old_hits=lambda: _forget_old_hits(limiter, throttle, window),
        forget_orphans=lambda: forget_orphans(pool),
    )


async def _forget_old_hits(
    limiter: PostgresRateLimiter, throttle: PostgresThrottle, window: timedelta
) -> int:
    """A hit older than any window counts nowhere; nor does a login counter idle for an hour."""
    return await limiter.prune(2 * window) + await throttle.prune(timedelta(hours=1))


def unsubscribe_address(settings: Settings) -> str | None:
    """The List-Unsubscribe mailto address (OPTIN_UNSUBSCRIBE_MAILTO, else unsubscribe@ the From domain)."""
    domain = parseaddr(settings.email_from)[1].rpartition("@")[2]
    return settings.unsubscribe_mailto or (f"unsubscribe@{domain}" if domain else None)


def unsubscribe_tokens(settings: Settings) -> UnsubscribeTokens:
    assert settings.token_key
    return UnsubscribeTokens(settings.token_key, settings.public_url, unsubscribe_address(settings))


def return_paths(settings: Settings) -> ReturnPaths:
    """Signed VERP return paths on OPTIN_BOUNCE_ADDRESS (default: bounces@ the From domain)."""
    assert settings.token_key
    domain = parseaddr(settings.email_from)[1].rpartition("@")[2] or "localhost"
    address = settings.email_feedback.bounce_address or f"bounces@{domain}"
    return ReturnPaths(derive_verp_key(settings.token_key), address)


def _limits(settings: Settings) -> Limits:
    return Limits(
        sms_countries=settings.sms_allowed_countries,
        sms_per_prefix=settings.sms_prefix_hourly_cap,
        sms_total=settings.sms_hourly_cap,
    )


def _program_ids(pool: asyncpg.Pool) -> ProgramIds:
    async def programs() -> list[UUID]:
        return [r["id"] for r in await pool.fetch("SELECT id FROM optins")]

    return programs
