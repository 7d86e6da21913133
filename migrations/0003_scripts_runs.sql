CREATE TABLE "runs" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"script_id" text NOT NULL,
	"script_version" integer NOT NULL,
	"trigger_id" text,
	"event_id" text NOT NULL,
	"event_kind" text NOT NULL,
	"attempt" integer NOT NULL,
	"status" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"duration_ms" integer,
	"cpu_ms" integer,
	"logs" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"logs_truncated" boolean DEFAULT false NOT NULL,
	"result" jsonb,
	"error" jsonb
);
--> statement-breakpoint
CREATE TABLE "scripts" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"language" text NOT NULL,
	"source" text NOT NULL,
	"compiled" text NOT NULL,
	"source_map" text,
	"limits" jsonb NOT NULL,
	"fresh_context" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scripts" ADD CONSTRAINT "scripts_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "runs_app_started" ON "runs" USING btree ("app_id","started_at");--> statement-breakpoint
CREATE INDEX "runs_app_status" ON "runs" USING btree ("app_id","status");--> statement-breakpoint
CREATE INDEX "runs_event" ON "runs" USING btree ("event_id");--> statement-breakpoint
CREATE UNIQUE INDEX "scripts_app_name" ON "scripts" USING btree ("app_id","name");