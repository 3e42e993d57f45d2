-- ledger_append_onto as in migration 100, with each event's chain hash and Merkle leaf packed
-- into one bytea (hash then leaf, 64 bytes an event) instead of two bytea[] arrays: the client
-- library encodes an array element by element, with type checks per element in Python, and
-- those two arrays were a measurable share of the Python work per event on the append path.
-- The rows written are the same. The nine-argument form of migration 100 stays for a process of
-- the previous version during a rolling update.
CREATE FUNCTION ledger_append_packed(
    p_after bigint, p_after_hash bytea, p_ids uuid[], p_versions bigint[], p_topics text[],
    p_states bytea[], p_chain bytea, p_recorded_at timestamptz
) RETURNS TABLE (head_position bigint, head_hash bytea, written boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_position bigint;
    v_hash     bytea;
    v_n        int := cardinality(p_ids);
    v_head     bytea;
BEGIN
    IF length(p_chain) <> 64 * v_n THEN
        RAISE EXCEPTION 'p_chain has % bytes for % events', length(p_chain), v_n
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
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
    SELECT p_after + u.n, u.id, u.version, u.topic, u.state, p_recorded_at,
           substring(p_chain FROM 64 * u.n::int - 63 FOR 32),
           substring(p_chain FROM 64 * u.n::int - 31 FOR 32)
      FROM unnest(p_ids, p_versions, p_topics, p_states)
           WITH ORDINALITY AS u(id, version, topic, state, n);
    v_head := substring(p_chain FROM 64 * v_n - 63 FOR 32);
    UPDATE ledger_head SET position = p_after + v_n, hash = v_head;
    PERFORM pg_notify('ledger_events', (p_after + v_n)::text);
    RETURN QUERY SELECT p_after + v_n, v_head, true;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        GRANT EXECUTE ON FUNCTION
            ledger_append_packed(bigint, bytea, uuid[], bigint[], text[], bytea[], bytea, timestamptz)
            TO optin_app;
    END IF;
END
$$;
