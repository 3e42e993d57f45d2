-- Daily counts for analytics (projections/activity.py): no personal data, kept after erasure.
CREATE TABLE consent_daily (
    day       date   NOT NULL,
    optin_id  uuid   NOT NULL,
    channel   text   NOT NULL,
    requested bigint NOT NULL DEFAULT 0,
    granted   bigint NOT NULL DEFAULT 0,
    withdrawn bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, optin_id, channel)
);

CREATE TABLE verification_daily (
    day       date   NOT NULL,
    channel   text   NOT NULL,
    issued    bigint NOT NULL DEFAULT 0,
    confirmed bigint NOT NULL DEFAULT 0,
    failed    bigint NOT NULL DEFAULT 0,
    locked    bigint NOT NULL DEFAULT 0,
    expired   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, channel)
);
