-- Revocation reviews (doubtful SMS replies staff confirm or dismiss) and opt-out deadlines:
-- every opt-out with the time by which no message may follow it, and every message that was
-- sent after that time anyway (must stay empty; the dashboard and an alert metric watch it).
CREATE TABLE revocation_reviews (
    id           uuid        PRIMARY KEY,
    contact_id   uuid        NOT NULL,
    channel      text        NOT NULL,
    matched      text,
    language     text,
    received_at  timestamptz NOT NULL,
    due_at       timestamptz NOT NULL,
    status       text        NOT NULL DEFAULT 'open',  -- open, confirmed, dismissed
    decided_at   timestamptz,
    decided_by   jsonb,
    position     bigint      NOT NULL
);
CREATE INDEX revocation_reviews_open ON revocation_reviews (due_at) WHERE status = 'open';

CREATE TABLE optout_deadlines (
    position     bigint      PRIMARY KEY,  -- the opt-out event
    contact_id   uuid        NOT NULL,
    optin_id     uuid,                     -- NULL: the whole channel (STOP)
    channel      text        NOT NULL,
    topic        text        NOT NULL,
    received_at  timestamptz NOT NULL,
    due_at       timestamptz NOT NULL
);
CREATE INDEX optout_deadlines_contact ON optout_deadlines (contact_id);

CREATE TABLE optout_violations (
    message_id      uuid        PRIMARY KEY,
    contact_id      uuid        NOT NULL,
    optin_id        uuid,
    channel         text        NOT NULL,
    reason          text        NOT NULL,
    optout_position bigint,
    due_at          timestamptz NOT NULL,
    sent_at         timestamptz NOT NULL,
    position        bigint      NOT NULL
);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE
            ON revocation_reviews, optout_deadlines, optout_violations TO optin_app;
    END IF;
END
$$;
