-- Audit bodies are written on every release and read back only to verify or feed the log: keep
-- them inline, uncompressed. A page's record is 2 to 3 KB, just past PostgreSQL's TOAST threshold
-- (about 2 KB a row), where every insert paid for compressing the body and, on embedded PGlite,
-- that was 40% of the insert (about 60 of 150 µs a record, measured). A heap page still holds three
-- records; the log grows about a third faster on disk.
ALTER TABLE audit_record SET (toast_tuple_target = 8160)
