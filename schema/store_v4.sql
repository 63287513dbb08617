-- mldedup store, schema version 4: read-only views, the documented interface for
-- `mldedup sql` and any other SQLite client. q1_* is version 1 of that interface:
-- its columns may be added to but are never renamed, removed or redefined; an
-- incompatible change adds q2_* views beside them. The tables are internal.
-- Digests are 32 lowercase hex digits; times are unix seconds (UTC); shapes are JSON
-- arrays ("[64,64,1,1]"); sizes are bytes.

CREATE VIEW q1_packages AS SELECT
  p.id,                                  -- package id (a re-index gives a new id)
  p.path,                                -- absolute path as indexed
  p.kind,                                -- 'dir' (.mlpackage) or 'zip'
  p.spec_version,                        -- CoreML specification version
  (SELECT count(*) FROM functions f WHERE f.package_id = p.id) AS functions,
  (SELECT count(*) FROM functions f JOIN weights w ON w.function_id = f.id
    WHERE f.package_id = p.id) AS weights,
  (SELECT coalesce(sum(w.encoded_bytes), 0) FROM functions f JOIN weights w ON w.function_id = f.id
    WHERE f.package_id = p.id) AS weight_bytes, -- stored bytes of its weights, each occurrence
  p.weights_size AS weight_file_bytes,   -- size of its weight file(s)
  nullif(lower(hex(p.weights_digest)), '') AS weight_file_digest,
  p.indexed_at                           -- when its files were last read
FROM packages p;

CREATE VIEW q1_functions AS SELECT
  f.id,
  f.package_id,                          -- q1_packages.id
  p.path AS package,
  f.name AS function,
  (SELECT count(*) FROM weights w WHERE w.function_id = f.id) AS weights,
  (SELECT coalesce(sum(w.encoded_bytes), 0) FROM weights w WHERE w.function_id = f.id) AS weight_bytes,
  (SELECT count(DISTINCT w.content_digest) FROM weights w WHERE w.function_id = f.id) AS contents
FROM functions f JOIN packages p ON p.id = f.package_id;

CREATE VIEW q1_weights AS SELECT
  w.id,
  f.package_id,                          -- q1_packages.id
  w.function_id,                         -- q1_functions.id
  p.path AS package,
  f.name AS function,
  w.name,                                -- the weight's const/constexpr op
  w.chain,                               -- op types producing it, joined by '+'
  w.dtype,                               -- dtype of its dense values
  w.shape,
  w.encoded_bytes,                       -- stored bytes of its blobs and immediates
  lower(hex(w.encoding_digest)) AS encoding_digest, -- q1_encodings.digest
  nullif(lower(hex(w.content_digest)), '') AS content_digest, -- q1_contents.digest; NULL: cannot be decoded
  w.error                                -- why it cannot be decoded
FROM weights w JOIN functions f ON f.id = w.function_id JOIN packages p ON p.id = f.package_id;

CREATE VIEW q1_contents AS SELECT
  lower(hex(c.digest)) AS digest,        -- XXH3-128 of dtype, shape and dense values
  c.dtype,
  c.shape,
  c.elements,
  c.dense_bytes,                         -- size of the dense values
  (SELECT count(*) FROM weights w WHERE w.content_digest = c.digest) AS weights -- occurrences
FROM contents c;

CREATE VIEW q1_encodings AS SELECT
  lower(hex(e.digest)) AS digest,        -- XXH3-128 of the stored bytes, op types, dtypes, shapes
  nullif(lower(hex(e.content_digest)), '') AS content_digest, -- what it decodes to; NULL: cannot be decoded
  e.chain,
  e.encoded_bytes,
  (SELECT count(*) FROM weights w WHERE w.encoding_digest = e.digest) AS weights -- occurrences
FROM encodings e;

CREATE VIEW q1_decisions AS SELECT
  lower(hex(d.a)) AS a,                  -- content already placed by a combine
  lower(hex(d.b)) AS b,                  -- the candidate compared with it
  d.cos,                                 -- cosine similarity of the dense values
  d.max_abs,                             -- max |a - b|
  d.mean_abs,                            -- mean |a - b|
  d.mode,                                -- 'relaxed' or 'strict'
  d.outcome,                             -- 'deq_close' (shared) or 'rejected_threshold'
  d.decided_at
FROM decisions d;

CREATE VIEW q1_outputs AS SELECT
  o.id,
  o.path,                                -- combined package, as written by its last combine
  o.mode,                                -- 'relaxed' or 'strict'
  o.cos_min,                             -- thresholds in force
  o.mean_abs_max,
  o.max_abs_max,                         -- NULL unless strict
  o.default_function,
  o.bytes_before,                        -- the sources' weight files
  o.bytes_after,                         -- its weight file
  o.bytes_optimum,                       -- one copy of each distinct content
  o.written_at,
  (SELECT count(*) FROM output_functions f WHERE f.output_id = o.id) AS functions
FROM outputs o;

CREATE VIEW q1_output_functions AS SELECT
  o.path AS output,                      -- q1_outputs.path
  f.name AS function,
  f.source_package,
  f.source_function,
  f.alias_of                             -- an earlier function with the same source
FROM output_functions f JOIN outputs o ON o.id = f.output_id;

CREATE VIEW q1_output_weights AS SELECT
  o.path AS output,                      -- q1_outputs.path
  w.function,
  w.name,
  w.reason,                              -- anchor, own, identical, deq_identical, deq_close, rejected_*, unsupported
  w.shared_function,                     -- whose encoding it uses (NULL: its own)
  w.shared_name,
  w.compared_function,                   -- what it was compared with
  w.compared_name,
  w.cos,
  w.max_abs,
  w.mean_abs,
  nullif(lower(hex(w.content_digest)), '') AS content_digest,
  w.encoded_bytes
FROM output_weights w JOIN outputs o ON o.id = w.output_id;
