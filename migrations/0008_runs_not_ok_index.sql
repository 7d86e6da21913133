-- Every finished attempt inserts a run row, and each index of runs is one more
-- entry to write. runs_app_status indexed every run by status; the listing it
-- served (an app's runs of one status, newest first) only needs it for the
-- statuses that are rare. The partial index below leaves runs that ended ok
-- out: the common completion writes three index entries instead of four, and
-- listing failed runs reads them in order without a sort.
DROP INDEX "runs_app_status";--> statement-breakpoint
CREATE INDEX "runs_app_not_ok" ON "runs" USING btree ("app_id","status","started_at") WHERE "runs"."status" <> 'ok';