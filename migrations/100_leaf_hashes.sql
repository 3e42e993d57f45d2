-- Each event's Merkle leaf hash, SHA-256(0x00 || its canonical record bytes), stored with it by
-- the append that chains it (the same bytes the chain hashes are already built there), so the
-- tree follower reads 32 bytes an event instead of hashing the record again. Events appended
-- before this migration, or written by anything else, have none: the follower computes theirs
-- from the stored columns (projections/merkle_tree.py), so a missing one is never a gap.
ALTER TABLE events ADD COLUMN leaf_hash bytea;

-- ledger_append_onto as in migration 056, with the leaves. The eight-argument form stays for a
-- process of the previous version during a rolling update (its events get no stored leaf).
CREATE FUNCTION ledger_append_onto(
    p_after bigint, p_after_hash bytea, p_ids uuid[], p_versions bigint[], p_topics text[],
    p_states bytea[], p_hashes bytea[], p_recorded_at timestamptz, p_leaves bytea[]
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
                        recorded_at, hash, leaf_hash)
    SELECT p_after + u.n, u.id, u.version, u.topic, u.state, p_recorded_at, u.hash, u.leaf
      FROM unnest(p_ids, p_versions, p_topics, p_states, p_hashes, p_leaves)
           WITH ORDINALITY AS u(id, version, topic, state, hash, leaf, n);
    UPDATE ledger_head SET position = p_after + v_n, hash = p_hashes[v_n];
    PERFORM pg_notify('ledger_events', (p_after + v_n)::text);
    RETURN QUERY SELECT p_after + v_n, p_hashes[v_n], true;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        GRANT EXECUTE ON FUNCTION
            ledger_append_onto(bigint, bytea, uuid[], bigint[], text[], bytea[], bytea[], timestamptz, bytea[])
            TO optin_app;
    END IF;
END
$$;
