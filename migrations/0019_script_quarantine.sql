ALTER TABLE "scripts" ADD COLUMN "crashed_version" integer;--> statement-breakpoint
ALTER TABLE "scripts" ADD COLUMN "crashed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "scripts" ADD COLUMN "crashed_run_id" text;