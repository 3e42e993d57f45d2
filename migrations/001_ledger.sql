-- The ledger: one append-only table of events, hash-chained, gapless, in commit order.
-- Columns keep eventsourcing's stored-event layout (originator_id, originator_version, topic,
-- state, notification_id) so the library's own PostgreSQL recorder can read this table.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        CREATE ROLE optin_app NOLOGIN;
    END IF;
    -- So the migrating role may `SET ROLE optin_app` (the service does, to shed its own rights).
    IF NOT pg_has_role(current_user, 'optin_app', 'MEMBER') THEN
        EXECUTE format('GRANT optin_app TO %I', current_user);
    END IF;
EXCEPTION WHEN insufficient_privilege OR duplicate_object OR invalid_grant_operation THEN
    RAISE NOTICE 'role optin_app not set up: %', SQLERRM;
END
$$;

CREATE TABLE events (
    notification_id    bigint      PRIMARY KEY,
    originator_id      uuid        NOT NULL,
    originator_version bigint      NOT NULL,
    topic              text        NOT NULL,
    state              bytea       NOT NULL,
    recorded_at        timestamptz NOT NULL,
    hash               bytea       NOT NULL CHECK (octet_length(hash) = 32),
    CONSTRAINT events_stream_version UNIQUE (originator_id, originator_version)
);

-- The head of the chain: the last position and hash. Appenders lock this one row, which
-- serialises them, so positions are handed out without gaps and become visible in order.
CREATE TABLE ledger_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position  bigint  NOT NULL,
    hash      bytea   NOT NULL
);
INSERT INTO ledger_head VALUES (true, 0, decode(repeat('00', 32), 'hex'));

-- Nobody, owner and superuser included, may rewrite history.
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on events is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- Append a batch made of several independent calls (p_calls numbers them), chained by the
-- caller from the head it believes current (p_after). Under the head lock:
--   conflicts = NULL   the head moved (another writer): nothing written; retry from head_*;
--   conflicts = {}     all rows written at positions p_after+1 ..; head_* is the new head;
--   error OL409        some stream version already exists: nothing written (the caller asks
--                      ledger_conflicts which calls, drops them and retries the rest).
-- The caller computes each hash as in ledger/chain.py: sha256(prev_hash || canonical record).
CREATE FUNCTION ledger_append(
    p_after bigint, p_ids uuid[], p_versions bigint[], p_topics text[], p_states bytea[],
    p_hashes bytea[], p_calls int[], p_recorded_at timestamptz
) RETURNS TABLE (head_position bigint, head_hash bytea, conflicts int[])
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    v_position bigint;
    v_hash     bytea;
    v_n        int := cardinality(p_ids);
    v_written  int;
BEGIN
    SELECT h.position, h.hash INTO v_position, v_hash FROM ledger_head h FOR UPDATE;
    IF v_position <> p_after THEN
        RETURN QUERY SELECT v_position, v_hash, NULL::int[];
        RETURN;
    END IF;
    IF abs(extract(epoch FROM p_recorded_at - clock_timestamp())) > 30 THEN
        RAISE EXCEPTION 'recorded_at is % s away from the database clock',
            round(extract(epoch FROM p_recorded_at - clock_timestamp()))
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Optimistic: write everything; a stream version that already exists is skipped by the
    -- unique index, which then shows as a short count. Only then, undo and name the calls.
    INSERT INTO events (notification_id, originator_id, originator_version, topic, state,
                        recorded_at, hash)
    SELECT p_after + u.n, u.id, u.version, u.topic, u.state, p_recorded_at, u.hash
      FROM unnest(p_ids, p_versions, p_topics, p_states, p_hashes)
           WITH ORDINALITY AS u(id, version, topic, state, hash, n)
    ON CONFLICT (originator_id, originator_version) DO NOTHING;
    GET DIAGNOSTICS v_written = ROW_COUNT;
    IF v_written < v_n THEN
        RAISE EXCEPTION USING ERRCODE = 'OL409', MESSAGE = 'stream version conflict';
    END IF;
    UPDATE ledger_head SET position = p_after + v_n, hash = p_hashes[v_n];
    PERFORM pg_notify('ledger_events', (p_after + v_n)::text);
    RETURN QUERY SELECT p_after + v_n, p_hashes[v_n], '{}'::int[];
END
$$;

CREATE FUNCTION ledger_conflicts(p_ids uuid[], p_versions bigint[], p_calls int[])
RETURNS int[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT u.call_no), '{}')
      FROM unnest(p_ids, p_versions, p_calls) AS u(id, version, call_no)
     WHERE EXISTS (SELECT FROM events e
                    WHERE e.originator_id = u.id AND e.originator_version = u.version)
$$;

-- Where each projection has got to; written in the same transaction as its read-model rows.
CREATE TABLE projection_tracking (
    name     text   PRIMARY KEY,
    position bigint NOT NULL DEFAULT 0
);

-- The service role appends and reads events, never rewrites them; read models are its own.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO optin_app', current_schema());
        GRANT SELECT, INSERT ON events TO optin_app;
        REVOKE UPDATE, DELETE, TRUNCATE ON events FROM optin_app;
        GRANT SELECT, UPDATE ON ledger_head TO optin_app;
        GRANT SELECT, INSERT, UPDATE, DELETE ON projection_tracking TO optin_app;
        GRANT EXECUTE ON FUNCTION
            ledger_append(bigint, uuid[], bigint[], text[], bytea[], bytea[], int[], timestamptz)
            TO optin_app;
        GRANT EXECUTE ON FUNCTION ledger_conflicts(uuid[], bigint[], int[]) TO optin_app;
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO optin_app',
            current_schema());
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO optin_app',
            current_schema());
    END IF;
END
$$;
