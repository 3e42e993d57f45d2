-- Appends insert plainly: a stream version that already exists now fails the statement on the
-- unique index (SQLSTATE 23505, constraint events_stream_version) instead of being skipped by
-- ON CONFLICT DO NOTHING and counted afterwards. Nothing is written either way, and the caller
-- asks ledger_conflicts which calls to drop, as before; but the common case, no conflict, no
-- longer pays for a speculative insertion per row (less work under the head lock, less WAL).
-- Same signature and answers as migration 040 otherwise: the head (position and hash) is
-- checked under the row lock, and a batch is written only onto exactly the chain it was
-- computed from.
CREATE OR REPLACE FUNCTION ledger_append_onto(
    p_after bigint, p_after_hash bytea, p_ids uuid[], p_versions bigint[], p_topics text[],
    p_states bytea[], p_hashes bytea[], p_recorded_at timestamptz
) RETURNS TABLE (head_position bigint, head_hash bytea, written boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_position bigint;
    v_hash     bytea;
    v_n        int := cardinality(p_ids);
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
           WITH ORDINALITY AS u(id, version, topic, state, hash, n);
    UPDATE ledger_head SET position = p_after + v_n, hash = p_hashes[v_n];
    PERFORM pg_notify('ledger_events', (p_after + v_n)::text);
    RETURN QUERY SELECT p_after + v_n, p_hashes[v_n], true;
END
$$;
