-- 0003 import digest (PostgreSQL; as the SQLite migration of the same number): a fingerprint of the predecessor's rows
-- a plan was last imported from. NULL for plans not imported.

ALTER TABLE plans ADD COLUMN import_digest text;
