CREATE TABLE "engine_crashes" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"app_id" text NOT NULL,
	"script_id" text NOT NULL,
	"script_version" integer NOT NULL,
	"run_id" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "engine_blocked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "engine_crashes_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "engine_crashes" ADD CONSTRAINT "engine_crashes_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "engine_crashes_workspace_at" ON "engine_crashes" USING btree ("workspace_id","at");--> statement-breakpoint
CREATE UNIQUE INDEX "engine_crashes_script_version" ON "engine_crashes" USING btree ("script_id","script_version");