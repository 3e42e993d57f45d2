-- Staff users (issue 5). Two kinds of tables:
--   read models rebuilt from user.* events (projections/users.py): users, api_keys;
--   mutable command-side state that is not in the ledger on purpose: the login lookup (a keyed
--   hash of the email, unique), password hashes, login throttling and API-key last use.

CREATE TABLE users (
    id                  uuid        PRIMARY KEY,
    email_masked        text        NOT NULL,
    role                text        NOT NULL CHECK (role IN ('admin', 'staff', 'auditor', 'service')),
    disabled            boolean     NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    password_changed_at timestamptz,
    version             bigint      NOT NULL,
    position            bigint      NOT NULL
);
CREATE INDEX users_created ON users (created_at, id);

CREATE TABLE api_keys (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL,
    prefix     text        NOT NULL,
    hash       bytea       NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz,
    position   bigint      NOT NULL
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- HMAC(OPTIN_INDEX_KEY, normalised email) -> user: the unique constraint makes two accounts
-- for one email impossible, whatever the timing.
CREATE TABLE user_logins (
    email_index bytea PRIMARY KEY,
    user_id     uuid  NOT NULL UNIQUE
);

CREATE TABLE user_credentials (
    user_id       uuid        PRIMARY KEY,
    password_hash text        NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now()
);

-- Failed-login counters per account and per client (keyed hashes, never a raw IP).
CREATE TABLE login_throttle (
    key             bytea       PRIMARY KEY,
    failures        int         NOT NULL,
    window_start    timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL
);

-- Written at most once a minute per key and process: a write per request would cost too much.
CREATE TABLE api_key_usage (
    key_id       uuid        PRIMARY KEY,
    last_used_at timestamptz NOT NULL
);
