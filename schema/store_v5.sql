-- mldedup store, schema version 5: what a warm combine needs so that it reads only
-- the blobs it writes.
--
-- weight_blobs.digest: XXH3-128 of the blob's stored bytes (sizeInBytes at its data
-- offset), computed by index in the same pass as the encoding digest. Combine
-- deduplicates the blobs of its sources by (dtype, shape, padding, this digest)
-- instead of hashing them again.
ALTER TABLE weight_blobs ADD COLUMN digest BLOB;

-- blob_matches: byte comparisons combine has done. Two blob occurrences (package,
-- blob file name as written in the model, metadata offset) with equal digests were
-- compared byte for byte and found equal, once; a later combine shares them without
-- comparing again. A re-index of either package gives it a new id and drops its rows.
-- Like every row here this is a cache: combine checks what it claims against the
-- bytes it copies anyway, and drops rows that lie.
CREATE TABLE blob_matches (
  a_package INTEGER NOT NULL REFERENCES packages(id) ON DELETE CASCADE,
  a_file    TEXT NOT NULL,
  a_offset  INTEGER NOT NULL,
  b_package INTEGER NOT NULL REFERENCES packages(id) ON DELETE CASCADE,
  b_file    TEXT NOT NULL,
  b_offset  INTEGER NOT NULL,
  digest    BLOB NOT NULL,       -- weight_blobs.digest of both
  PRIMARY KEY (a_package, a_file, a_offset, b_package, b_file, b_offset)
) WITHOUT ROWID;
CREATE INDEX blob_matches_b ON blob_matches(b_package);

-- Packages indexed before version 5 have no blob digests, and their weights_digest
-- may be the XXH3-128 of the whole weight file (the definition before the weights
-- identity): forget them, so the next index reads them again. Contents, encodings
-- and decisions stay (they are keyed by digests, which did not change).
DELETE FROM packages;
