-- mldedup store, schema version 3: what each combine wrote, weight by weight,
-- so `mldedup explain OUT FUNC NAME` can say why a weight was or was not shared.
CREATE TABLE outputs (
  id               INTEGER PRIMARY KEY,
  path             TEXT NOT NULL UNIQUE,  -- absolute path of the combined package
  mode             TEXT NOT NULL,         -- 'relaxed' or 'strict'
  cos_min          REAL NOT NULL,         -- thresholds in force
  mean_abs_max     REAL NOT NULL,
  max_abs_max      REAL,                  -- NULL unless strict
  default_function TEXT NOT NULL,
  bytes_before     INTEGER NOT NULL,
  bytes_after      INTEGER NOT NULL,
  bytes_optimum    INTEGER NOT NULL,
  written_at       INTEGER NOT NULL
);

CREATE TABLE output_functions (
  output_id        INTEGER NOT NULL REFERENCES outputs(id) ON DELETE CASCADE,
  name             TEXT NOT NULL,
  source_package   TEXT NOT NULL,
  source_function  TEXT NOT NULL,
  alias_of         TEXT,                  -- an earlier function with the same source
  PRIMARY KEY (output_id, name)
) WITHOUT ROWID;

CREATE TABLE output_weights (
  output_id        INTEGER NOT NULL REFERENCES outputs(id) ON DELETE CASCADE,
  function         TEXT NOT NULL,
  name             TEXT NOT NULL,
  reason           TEXT NOT NULL,         -- anchor, own, identical, deq_identical, deq_close, rejected_*, unsupported
  shared_function  TEXT,                  -- whose encoding it uses (NULL: its own)
  shared_name      TEXT,
  compared_function TEXT,                 -- what it was compared with
  compared_name    TEXT,
  cos              REAL,
  max_abs          REAL,
  mean_abs         REAL,
  content_digest   BLOB,
  encoded_bytes    INTEGER NOT NULL,
  PRIMARY KEY (output_id, function, name)
) WITHOUT ROWID;
