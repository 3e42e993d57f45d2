-- Pipelined appends: a writer may hand the database its next batch before the previous one has
-- committed, chained onto the head that batch will leave. So the check is on the whole head,
-- position and hash: a batch is written only onto exactly the chain it was computed from.
--
-- Under the head lock:
--   written = false   the head is not (p_after, p_after_hash): nothing written; head_* is the
--                     head now (an earlier batch has not committed yet, failed, or another
--                     writer appended): the caller waits for its earlier batch, then chains again;
--   written = true    all rows written at positions p_after+1 ..; head_* is the new head;
--   error OL409       some stream version already exists: nothing written (the caller asks
--                     ledger_conflicts which calls, under the lock, drops them and retries).
-- The caller computes each hash as in ledger/chain.py: sha256(prev_hash || canonical record).
CREATE FUNCTION ledger_append_onto(
    p_after bigint, p_after_hash bytea, p_ids uuid[], p_versions bigint[], p_topics text[],
    p_states bytea[], p_hashes bytea[], p_recorded_at timestamptz
) RETURNS TABLE (head_position bigint, head_hash bytea, written boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_position bigint;
    v_hash     bytea;
    v_n        int := cardinality(p_ids);
    v_written  int;
BEGIN
    SELECT h.position, h.hash INTO v_position, v_hash FROM ledger_head h FOR UPDATE;
    IF v_position <> p_after OR v_hash <> p_after_hash THEN
        RETURN QUERY SELECT v_position, v_hash, false;
        RETURN;
    END IF;
    IF abs(extract(epoch FROM p_recorded_at - clock_timestamp())) > 30 THEN
        RAISE EXCEPTION 'recorded_at is % s away from the database clock',
            round(extract(epoch FROM p_recorded_at - clock_timestamp()))
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
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
    RETURN QUERY SELECT p_after + v_n, p_hashes[v_n], true;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        GRANT EXECUTE ON FUNCTION
            ledger_append_onto(bigint, bytea, uuid[], bigint[], text[], bytea[], bytea[], timestamptz)
            TO optin_app;
    END IF;
END
$$;

-- The function it replaces: nothing calls it any more, and a second way in is one too many.
DROP FUNCTION ledger_append(bigint, uuid[], bigint[], text[], bytea[], bytea[], int[], timestamptz);
