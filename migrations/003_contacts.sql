-- Personal data lives outside the ledger: data keys and the blind-index lookup are mutable
-- tables (deleting a row is the erasure); the ledger holds only ciphertext.

CREATE TABLE contact_keys (
    contact_id uuid        PRIMARY KEY,
    wrapped    bytea       NOT NULL,
    kek_id     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contact_lookup (
    blind_index bytea       PRIMARY KEY CHECK (octet_length(blind_index) = 32),
    contact_id  uuid        NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Read model: one row per live contact, address masked (projections/contacts.py).
CREATE TABLE contacts (
    id               uuid        PRIMARY KEY,
    channel          text        NOT NULL,
    masked_address   text        NOT NULL,
    created_at       timestamptz NOT NULL,
    last_activity_at timestamptz NOT NULL,
    position         bigint      NOT NULL
);
CREATE INDEX contacts_created ON contacts (created_at, id);
CREATE INDEX contacts_activity ON contacts (last_activity_at);

-- Read model: every event of a contact, in ledger order, without personal data.
CREATE TABLE contact_timeline (
    contact_id  uuid        NOT NULL,
    position    bigint      NOT NULL,
    topic       text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    actor       jsonb       NOT NULL,
    details     jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (contact_id, position)
);
