DROP INDEX "outbox_app";--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "concurrency" integer;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "concurrency" integer;--> statement-breakpoint
CREATE INDEX "outbox_app_due" ON "outbox" USING btree ("app_id","run_at");--> statement-breakpoint
CREATE INDEX "outbox_app_leased" ON "outbox" USING btree ("app_id") WHERE lease_until is not null;