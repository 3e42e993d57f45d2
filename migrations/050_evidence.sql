-- The ledger as a transparency log (ledger/merkle.py, ledger/tiles.py, projections/merkle_tree.py).

-- The Merkle tree as C2SP tlog-tiles: level L, index N holds 256 hashes of height 8·L, then the
-- interior nodes of its own subtree (510 hashes in all, zeros where a partial tile has none yet).
-- Served tiles are the first width × 32 bytes. Stored out of line, uncompressed (hashes do not
-- compress), so reading one node reads one TOAST chunk, not the whole tile.
CREATE TABLE merkle_tiles (
    level  smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
    idx    bigint   NOT NULL CHECK (idx >= 0),
    width  smallint NOT NULL CHECK (width BETWEEN 1 AND 256),
    nodes  bytea    NOT NULL CHECK (octet_length(nodes) = 510 * 32),
    PRIMARY KEY (level, idx)
);
ALTER TABLE merkle_tiles ALTER COLUMN nodes SET STORAGE EXTERNAL;

-- A tile only grows: the hashes it already holds never change (a rewrite of history shows as a
-- refused update, unless someone with the power to disable triggers does it: that is what the
-- checkpoints and the monitors that keep them are for).
CREATE FUNCTION merkle_tiles_only_grow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.width < OLD.width
       OR substring(NEW.nodes FROM 1 FOR OLD.width * 32) <> substring(OLD.nodes FROM 1 FOR OLD.width * 32) THEN
        RAISE EXCEPTION 'merkle tile %/% may only grow', OLD.level, OLD.idx
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER merkle_tiles_grow BEFORE UPDATE ON merkle_tiles
    FOR EACH ROW EXECUTE FUNCTION merkle_tiles_only_grow();

-- Every signed checkpoint (C2SP tlog-checkpoint as a signed note), by tree size: kept, so any
-- older one can be served and proven against.
CREATE TABLE ledger_checkpoints (
    size      bigint      PRIMARY KEY CHECK (size >= 0),
    root      bytea       NOT NULL CHECK (octet_length(root) = 32),
    note      text        NOT NULL,
    signed_at timestamptz NOT NULL DEFAULT now()
);

-- Which ledger positions bear on a contact (projections/evidence_index.py): ids only, kept after
-- erasure so that an erased contact's evidence can still be assembled and verified.
CREATE TABLE evidence_index (
    contact_id uuid   NOT NULL,
    position   bigint NOT NULL,
    PRIMARY KEY (contact_id, position)
);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'optin_app') THEN
        GRANT SELECT, INSERT, UPDATE ON merkle_tiles TO optin_app;
        REVOKE DELETE, TRUNCATE ON merkle_tiles FROM optin_app;
        GRANT SELECT, INSERT ON ledger_checkpoints TO optin_app;
        REVOKE UPDATE, DELETE, TRUNCATE ON ledger_checkpoints FROM optin_app;
        GRANT SELECT, INSERT, DELETE, TRUNCATE ON evidence_index TO optin_app;
    END IF;
END
$$;
