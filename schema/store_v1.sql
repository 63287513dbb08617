-- mldedup store, schema version 1: the content-addressed index of packages.
-- Migration N (store_vN.sql) takes a store from PRAGMA user_version N-1 to N.
-- Digests are 16-byte XXH3-128 blobs.

CREATE TABLE packages (
  id              INTEGER PRIMARY KEY,
  path            TEXT NOT NULL UNIQUE,   -- absolute path as indexed
  kind            TEXT NOT NULL,          -- 'dir' or 'zip'
  spec_version    INTEGER NOT NULL,
  model_size      INTEGER NOT NULL,       -- identity of model.mlmodel
  model_mtime_ns  INTEGER NOT NULL,
  model_inode     INTEGER NOT NULL,
  weights_size    INTEGER NOT NULL,       -- identity of the weight file(s)
  weights_mtime_ns INTEGER NOT NULL,
  weights_inode   INTEGER NOT NULL,
  weights_digest  BLOB,                   -- XXH3-128 of the weight file bytes
  identity        TEXT NOT NULL,          -- "rel:size:mtime_ns:inode;..." of every file read
  indexed_at      INTEGER NOT NULL        -- unix seconds: last indexed, or last found unchanged
);

CREATE TABLE functions (
  id          INTEGER PRIMARY KEY,
  package_id  INTEGER NOT NULL REFERENCES packages(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  UNIQUE (package_id, name)
);

-- One row per distinct dense tensor.
CREATE TABLE contents (
  digest      BLOB PRIMARY KEY,
  dtype       TEXT NOT NULL,
  shape       TEXT NOT NULL,               -- JSON array
  elements    INTEGER NOT NULL,
  dense_bytes INTEGER NOT NULL,
  sketch      BLOB                         -- 16 LE floats: a cheap fingerprint for candidate search
) WITHOUT ROWID;
CREATE INDEX contents_shape ON contents(dtype, shape);

-- One row per distinct stored encoding (the bytes a weight is built from).
CREATE TABLE encodings (
  digest         BLOB PRIMARY KEY,
  content_digest BLOB,                     -- NULL when the form cannot be decoded
  chain          TEXT NOT NULL,
  encoded_bytes  INTEGER NOT NULL
) WITHOUT ROWID;

-- Weight occurrences: a named weight of a function of a package.
CREATE TABLE weights (
  id              INTEGER PRIMARY KEY,
  function_id     INTEGER NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  chain           TEXT NOT NULL,
  dtype           TEXT NOT NULL,
  shape           TEXT NOT NULL,
  encoded_bytes   INTEGER NOT NULL,
  encoding_digest BLOB NOT NULL,
  content_digest  BLOB,                    -- NULL: unsupported form (see error)
  error           TEXT,
  UNIQUE (function_id, name)
);
CREATE INDEX weights_content ON weights(content_digest);
CREATE INDEX weights_encoding ON weights(encoding_digest);

-- The blobs each weight references.
CREATE TABLE weight_blobs (
  weight_id    INTEGER NOT NULL REFERENCES weights(id) ON DELETE CASCADE,
  seq          INTEGER NOT NULL,
  op           TEXT NOT NULL,
  param        TEXT NOT NULL,
  file         TEXT NOT NULL,
  offset       INTEGER NOT NULL,
  dtype        TEXT NOT NULL,
  size         INTEGER NOT NULL,
  PRIMARY KEY (weight_id, seq)
) WITHOUT ROWID;
