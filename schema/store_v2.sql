-- mldedup store, schema version 2: verification decisions of `combine`.
-- A decision compares two dense tensors (by content digest); its metrics do not
-- depend on the mode, so a later run in either mode reuses them without
-- dequantizing again. `outcome` is the outcome under `mode` of the last run.
CREATE TABLE decisions (
  a          BLOB NOT NULL,   -- content digest of the already-placed weight
  b          BLOB NOT NULL,   -- content digest of the candidate
  cos        REAL NOT NULL,
  max_abs    REAL NOT NULL,
  mean_abs   REAL NOT NULL,
  mode       TEXT NOT NULL,   -- 'relaxed' or 'strict'
  outcome    TEXT NOT NULL,   -- 'deq_close' or 'rejected_threshold'
  decided_at INTEGER NOT NULL,
  PRIMARY KEY (a, b)
) WITHOUT ROWID;
