-- Console sessions ended by logging out. A console cookie is a signed token carrying its session
-- id (`sid`, kept across renewals); logging out records the id here, so a copy of the cookie
-- taken before is refused too. Rows are needed only while a token of the session could still be
-- valid (its lifetime after the last renewal), and are removed after that.
CREATE TABLE console_logouts (
    session_id text        PRIMARY KEY,
    ended_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX console_logouts_ended_at ON console_logouts (ended_at);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        GRANT SELECT, INSERT, DELETE ON console_logouts TO optin_app;
    END IF;
END
$$;
