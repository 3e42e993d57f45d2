-- Read model of opt-in programs (projections/optins.py).
CREATE TABLE optins (
    id                 uuid        PRIMARY KEY,
    name               text        NOT NULL,
    description        text        NOT NULL,
    purpose            text        NOT NULL,
    channels           text[]      NOT NULL,
    disclosure         text        NOT NULL,
    disclosure_version int         NOT NULL,
    disclosure_sha256  text        NOT NULL,
    archived           boolean     NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    version            bigint      NOT NULL,
    position           bigint      NOT NULL
);
CREATE INDEX optins_name ON optins (lower(name));

-- Every disclosure text a program ever showed, so evidence can name the exact words.
CREATE TABLE optin_disclosures (
    optin_id   uuid        NOT NULL,
    version    int         NOT NULL,
    text       text        NOT NULL,
    sha256     text        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (optin_id, version)
);
