-- The usage snapshot may re-read only the events received since a cut-off (README "Source snapshot"):
-- each snapshot records what it read. NULL: the whole source table was read (every snapshot before this
-- migration, and every snapshot of the small tables).
ALTER TABLE staging.snapshot_log ADD COLUMN read_since TIMESTAMP;
