-- `/ready` says no while the schema is older than the code: the service (as optin_app) reads
-- which migrations are applied.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        GRANT SELECT ON schema_migrations TO optin_app;
    END IF;
END
$$;
