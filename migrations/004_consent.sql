-- Read models of consent (projections/consent_state.py) and verifications
-- (projections/verifications.py), the dev outbox of codes (projections/outbox.py), and the
-- shared rate-limit hits (adapters/postgres/rate_limits.py).

CREATE TABLE consent_state (
    contact_id           uuid        NOT NULL,
    optin_id             uuid        NOT NULL,
    channel              text        NOT NULL,
    status               text        NOT NULL,
    since                timestamptz NOT NULL,
    event_position       bigint      NOT NULL,
    event_topic          text        NOT NULL,
    pending_verification uuid,
    position             bigint      NOT NULL,
    PRIMARY KEY (contact_id, optin_id, channel)
);
CREATE INDEX consent_state_program ON consent_state (optin_id, channel, status);

CREATE TABLE verifications (
    id          uuid        PRIMARY KEY,
    contact_id  uuid        NOT NULL,
    channel     text        NOT NULL,
    optin_id    uuid,
    action      text,
    status      text        NOT NULL,
    failures    int         NOT NULL DEFAULT 0,
    issued_at   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    decided_at  timestamptz,
    position    bigint      NOT NULL
);
CREATE INDEX verifications_contact ON verifications (contact_id, issued_at DESC);
CREATE INDEX verifications_open ON verifications (expires_at) WHERE status = 'open';

-- What would be sent, for the dev sender and tests: the body stays sealed with the contact's key.
CREATE TABLE outbox (
    id          uuid        PRIMARY KEY,
    contact_id  uuid        NOT NULL,
    channel     text        NOT NULL,
    kind        text        NOT NULL,
    sealed_body bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    position    bigint      NOT NULL
);
CREATE INDEX outbox_contact ON outbox (contact_id, created_at);

CREATE TABLE rate_limit_hits (
    bucket text        NOT NULL,
    hit_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rate_limit_hits_bucket ON rate_limit_hits (bucket, hit_at);
