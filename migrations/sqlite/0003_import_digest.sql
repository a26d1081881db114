-- 0003 import digest: a fingerprint of the predecessor's rows a plan was last imported from (its row, its charts and
-- its history rows), so that importing a newer snapshot can tell whether the predecessor changed the plan since.
-- NULL for plans not imported, and for plans imported before this migration.

ALTER TABLE plans ADD COLUMN import_digest TEXT;
