-- A deployment may log the service in as optin_app itself (not as the owner, who could undo a
-- `SET ROLE` with `RESET ROLE`). That login may not migrate; it checks that the owner has.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        GRANT SELECT ON schema_migrations TO optin_app;
    END IF;
END
$$;
