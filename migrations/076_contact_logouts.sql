-- Contact sessions ended by signing out (api/web/sessions.py). A
-- contact session is a signed token carrying its session id (`sid`); signing out records the id
-- here, so a copy of the cookie or token taken before is refused too. Rows are needed only while
-- a token of the session could still be valid (its lifetime), and are removed after that.
CREATE TABLE contact_logouts (
    session_id text        PRIMARY KEY,
    ended_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contact_logouts_ended_at ON contact_logouts (ended_at);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        GRANT SELECT, INSERT, DELETE ON contact_logouts TO optin_app;
    END IF;
END
$$;
