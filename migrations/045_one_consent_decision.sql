-- One consent decision (ledger/decision.py): the consent_state projection now keeps every fact
-- the decision needs, so a read folds nothing and decides in one place. Besides the consent
-- stream's own state (consent_state) and the channel-wide opt-outs in force (channel_optouts,
-- until now a projection of its own), it records program archivals and contact erasures.
-- The projection is rebuilt from the ledger once, at the next start.

CREATE TABLE program_archivals (
    optin_id uuid        PRIMARY KEY,
    position bigint      NOT NULL,
    at       timestamptz NOT NULL
);

CREATE TABLE contact_erasures (
    contact_id uuid        PRIMARY KEY,
    position   bigint      NOT NULL,
    at         timestamptz NOT NULL
);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON program_archivals, contact_erasures TO optin_app;
    END IF;
END
$$;

TRUNCATE consent_state, channel_optouts;
DELETE FROM projection_tracking WHERE name IN ('consent_state', 'channel_optouts');

-- A stream whose events set no status yet (a request that lapsed before anything was decided
-- leaves `unknown` with no deciding event) has no `since` either.
ALTER TABLE consent_state
    ALTER COLUMN since DROP NOT NULL,
    ALTER COLUMN event_position DROP NOT NULL,
    ALTER COLUMN event_topic DROP NOT NULL;
