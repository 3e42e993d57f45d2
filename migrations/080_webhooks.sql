-- Signed outgoing webhooks (Standard Webhooks). Endpoints are a read model of the
-- `webhook.endpoint_*` events; their signing secrets live apart from the ledger (wrapped by the
-- KEK, like contact keys), since the ledger is exported and secrets must never be. Deliveries
-- are the webhook outbox: one row per (endpoint, ledger event), its id the `webhook-id` header,
-- its payload the exact bytes signed; every attempt is logged. A rebuild of the projection
-- finds its rows already there (deterministic ids), so nothing is delivered twice by a replay.
CREATE TABLE webhook_endpoints (
    id           uuid        PRIMARY KEY,
    owner        text,       -- the application ("api_key:<id>", "user:<id>"); NULL: every application
    url          text        NOT NULL,
    event_types  text[]      NOT NULL,
    active       boolean     NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL,
    position     bigint      NOT NULL
);

CREATE TABLE webhook_secrets (
    secret_id    uuid        PRIMARY KEY,
    endpoint_id  uuid        NOT NULL,
    wrapped      bytea       NOT NULL,
    kek_id       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    retires_at   timestamptz            -- NULL: current; else it still signs until then
);
CREATE INDEX webhook_secrets_endpoint ON webhook_secrets (endpoint_id);

CREATE TABLE webhook_deliveries (
    id            uuid        PRIMARY KEY,
    endpoint_id   uuid        NOT NULL,
    event_type    text        NOT NULL,
    position      bigint      NOT NULL,
    payload       bytea       NOT NULL,
    created_at    timestamptz NOT NULL,
    due_at        timestamptz NOT NULL,
    leased_until  timestamptz,
    attempts      int         NOT NULL DEFAULT 0,
    status        text        NOT NULL DEFAULT 'pending',  -- pending, delivered, failed
    last_status   int,
    last_error    text,
    delivered_at  timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, position DESC);

CREATE TABLE webhook_attempts (
    delivery_id  uuid        NOT NULL,
    attempt      int         NOT NULL,
    at           timestamptz NOT NULL,
    status_code  int,
    error        text,
    duration_ms  int         NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE
            ON webhook_endpoints, webhook_secrets, webhook_deliveries, webhook_attempts TO optin_app;
    END IF;
END
$$;
