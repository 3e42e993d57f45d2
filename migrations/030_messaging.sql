-- Messages, templates and channels (issue 6). Read models rebuilt from events:
--   templates (projections/templates.py), messages and message_events (projections/messages.py),
--   channel_optouts (projections/channel_optouts.py), outbox (projections/outbox.py: the jobs the
--   worker sends, now codes and messages alike; it replaces the dev-only outbox of codes).
-- Written by the dev sender only: dev_outbox (what would have been sent; bodies sealed).

CREATE TABLE templates (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL,
    kind        text        NOT NULL,
    channel     text        NOT NULL,
    optin_id    uuid,
    subject     text,
    body        text        NOT NULL,
    version     int         NOT NULL,
    is_default  boolean     NOT NULL,
    archived    boolean     NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    position    bigint      NOT NULL
);
CREATE INDEX templates_listing ON templates (kind, channel, created_at);

CREATE TABLE messages (
    id               uuid        PRIMARY KEY,
    contact_id       uuid        NOT NULL,
    channel          text        NOT NULL,
    kind             text        NOT NULL,
    purpose          text        NOT NULL,
    optin_id         uuid,
    status           text        NOT NULL,
    reason           text,
    template_id      uuid,
    template_version int,
    basis            jsonb,
    preview          text,
    sms              jsonb,
    attempts         int         NOT NULL DEFAULT 0,
    provider_id      text,
    verification_id  uuid,
    idempotency_key  text,
    actor            jsonb       NOT NULL,
    requested_at     timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    position         bigint      NOT NULL,
    seq              bigint      NOT NULL  -- the position of message.requested: a stable order
);
CREATE INDEX messages_recent ON messages (seq DESC);
CREATE INDEX messages_contact ON messages (contact_id, requested_at DESC);
CREATE INDEX messages_provider ON messages (provider_id) WHERE provider_id IS NOT NULL;

CREATE TABLE message_events (
    message_id  uuid        NOT NULL,
    position    bigint      NOT NULL,
    topic       text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    details     jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (message_id, position)
);

CREATE TABLE channel_optouts (
    contact_id     uuid        NOT NULL,
    channel        text        NOT NULL,
    since          timestamptz NOT NULL,
    event_position bigint      NOT NULL,
    PRIMARY KEY (contact_id, channel)
);

-- The worker's queue: one row per message (or code) not yet finished. `leased_until` is the
-- worker's own mutable state (not from events): a lease, or "not before" after an outcome.
DROP TABLE outbox;
DELETE FROM projection_tracking WHERE name = 'outbox';
CREATE TABLE outbox (
    id              uuid        PRIMARY KEY,
    contact_id      uuid        NOT NULL,
    channel         text        NOT NULL,
    kind            text        NOT NULL,
    verification_id uuid,
    attempts        int         NOT NULL DEFAULT 0,
    due_at          timestamptz NOT NULL,
    leased_until    timestamptz,
    created_at      timestamptz NOT NULL,
    position        bigint      NOT NULL
);
CREATE INDEX outbox_due ON outbox (due_at);
CREATE INDEX outbox_contact ON outbox (contact_id);
CREATE INDEX outbox_verification ON outbox (verification_id) WHERE verification_id IS NOT NULL;

CREATE TABLE dev_outbox (
    id             uuid        PRIMARY KEY,
    contact_id     uuid        NOT NULL,
    channel        text        NOT NULL,
    kind           text        NOT NULL,
    sealed_subject bytea,
    sealed_body    bytea       NOT NULL,
    unsubscribe    text,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX dev_outbox_contact ON dev_outbox (contact_id, created_at);
