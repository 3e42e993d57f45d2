-- Staff tokens carry the account's credential version (projections/users.py): a password change,
-- a role change or disabling the account bumps it, and tokens issued at an older version are
-- refused. Comparing issue times could not tell apart a token issued in the same second as the
-- change. Existing rows get the version a rebuild would give them: their changes up to where
-- the projection has got (later ones it counts itself).
ALTER TABLE users ADD COLUMN credential_version bigint NOT NULL DEFAULT 0;

UPDATE users u
   SET credential_version = (
       SELECT count(*) FROM events e
        WHERE e.originator_id = u.id
          AND e.topic IN ('user.role_changed', 'user.disabled', 'user.password_changed')
          AND e.notification_id <= coalesce(
              (SELECT position FROM projection_tracking WHERE name = 'users'), 0)
   );
