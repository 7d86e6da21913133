-- The live tail of runs (GET .../runs/stream) orders finished runs by the
-- transaction that recorded them and delivers a run once every older
-- transaction has ended: exact across worker processes, however late a batch
-- commits. The column is added without a default first, so the table is not
-- rewritten and older runs stay null (never streamed); the default then
-- applies to every run recorded from now on.
ALTER TABLE "runs" ADD COLUMN "finish_xid" bigint;--> statement-breakpoint
ALTER TABLE "runs" ALTER COLUMN "finish_xid" SET DEFAULT (pg_current_xact_id()::text::bigint);--> statement-breakpoint
CREATE INDEX "runs_app_finish_xid" ON "runs" USING btree ("app_id","finish_xid");
