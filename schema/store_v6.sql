-- mldedup store, schema version 6: a decision taken from the store is tied to the
-- bytes it was taken on.
--
-- A content digest the store holds is a claim like any other row. A verification
-- decision is reused only for the same pair of encodings (the bytes) it was computed
-- on, and two encodings whose dense values a comparison found bit-identical are kept
-- in value_matches; a deq_identical share that rests on the store's content digests
-- alone is checked against the values once, then remembered here. Rows from before
-- (no encodings) are reused only when the digests were computed in the same run.
ALTER TABLE decisions ADD COLUMN a_enc BLOB;  -- encoding digest of the placed weight compared
ALTER TABLE decisions ADD COLUMN b_enc BLOB;  -- encoding digest of the candidate compared

CREATE TABLE value_matches (
  a BLOB NOT NULL,  -- encoding digest
  b BLOB NOT NULL,  -- encoding digest: the same dense values, bit for bit
  PRIMARY KEY (a, b)
) WITHOUT ROWID;
