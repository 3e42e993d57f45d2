-- Email feedback per day (projections/email_feedback.py): hard bounces, soft bounces and spam
-- complaints, by the program of the message they were about (the nil uuid: a message of no program,
-- such as a code). Counts only, no personal data: they stay when a contact is erased.
CREATE TABLE email_feedback_daily (
    day         date   NOT NULL,
    optin_id    uuid   NOT NULL,
    hard_bounce bigint NOT NULL DEFAULT 0,
    soft_bounce bigint NOT NULL DEFAULT 0,
    complaint   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, optin_id)
);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON email_feedback_daily TO optin_app;
    END IF;
END
$$;
