-- A hit on a sliding-window rate limit in one round trip (it took five: BEGIN, the bucket's
-- advisory lock, the count, the insert, COMMIT). The lock still makes racing hits on one bucket
-- take turns, and each statement of a volatile function takes a fresh snapshot, so the count
-- after the lock sees every hit committed before it: two racers cannot both squeeze in.
-- Answers NULL when the hit is within the limit (and recorded), else the seconds until the
-- oldest hit in the window leaves it (nothing recorded). `now()` is the transaction's start, as
-- the hit's own time, so the window is measured as it was before.
CREATE FUNCTION rate_limit_hit(p_bucket text, p_limit bigint, p_window interval)
RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
    v_count  bigint;
    v_oldest timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(p_bucket));
    SELECT count(*), min(hit_at) INTO v_count, v_oldest
        FROM rate_limit_hits WHERE bucket = p_bucket AND hit_at > now() - p_window;
    IF v_count >= p_limit THEN
        RETURN extract(epoch FROM (v_oldest + p_window) - now());
    END IF;
    INSERT INTO rate_limit_hits (bucket) VALUES (p_bucket);
    RETURN NULL;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        GRANT EXECUTE ON FUNCTION rate_limit_hit(text, bigint, interval) TO optin_app;
    END IF;
END
$$;
