-- A claim, a lease renewal and a hand-back each rewrite an outbox row without
-- changing an indexed column. With half of every page kept free, the new row
-- version fits on the same page (a HOT update) and no index is touched; with
-- full pages every claim wrote three index entries. Measured on PostgreSQL 15
-- (claims of 64 with 200 rows leased): 36-50 µs a row against 60-93, HOT
-- updates 94% of claims against 9%. The outbox holds only work in flight, so
-- the space costs little. Applies to pages written from now on.
ALTER TABLE "outbox" SET (fillfactor = 50);
