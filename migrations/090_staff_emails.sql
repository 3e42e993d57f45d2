-- Staff accounts' email addresses, for admins to read (issue 17: staff are not contacts, and an
-- admin must tell accounts apart). Like the login lookup, kept out of the ledger (which holds only
-- the masked form); sealed (XSalsa20-Poly1305) under a key derived from OPTIN_INDEX_KEY, so a copy
-- of the database or a backup alone does not reveal them. Accounts created before this table
-- have no row: they are shown masked.
CREATE TABLE staff_emails (
    user_id uuid  PRIMARY KEY,
    sealed  bytea NOT NULL
);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        GRANT SELECT, INSERT, DELETE ON staff_emails TO optin_app;
    END IF;
END
$$;
