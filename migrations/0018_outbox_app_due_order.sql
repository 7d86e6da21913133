DROP INDEX "outbox_app_due";--> statement-breakpoint
CREATE INDEX "outbox_app_due" ON "outbox" USING btree ("app_id","run_at","id");