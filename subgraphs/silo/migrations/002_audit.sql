-- The nation's audit log: one record per answered request, saying who asked, which operation, and
-- what was released, withheld, redacted or transformed. Append-only and hash-chained: a record's
-- hash covers the previous record's hash and its own body, so an edit made behind the trigger's
-- back (by a superuser) breaks the chain at that record, and `audit verify` finds it.
CREATE TABLE audit_record (
  seq        bigint PRIMARY KEY CHECK (seq > 0),  -- 1, 2, 3, ... with no gap
  at         timestamptz NOT NULL,                -- when the release was recorded (also in body)
  body       text NOT NULL,                       -- canonical JSON of {seq, at, entry}: the exact text hashed
  prev_hash  text COLLATE "C" NOT NULL,           -- the previous record's hash, 64 zeros for the first
  hash       text COLLATE "C" NOT NULL            -- sha256 hex of prev_hash, a newline, then body
);

-- The body is an E'' string whose one semicolon is written \073: the migration runner splits
-- statements on every semicolon it sees, and PostgreSQL unescapes \073 before PL/pgSQL reads it.
CREATE FUNCTION audit_record_refuse_change() RETURNS trigger LANGUAGE plpgsql AS
  E'BEGIN RAISE EXCEPTION ''audit_record is append-only: % refused'', TG_OP\073 END';

CREATE TRIGGER audit_record_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_record
  FOR EACH ROW EXECUTE FUNCTION audit_record_refuse_change();
CREATE TRIGGER audit_record_no_truncate BEFORE TRUNCATE ON audit_record
  FOR EACH STATEMENT EXECUTE FUNCTION audit_record_refuse_change();
