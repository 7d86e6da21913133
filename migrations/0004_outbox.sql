CREATE TABLE "dead_letters" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"event_id" text NOT NULL,
	"script_id" text NOT NULL,
	"trigger_id" text,
	"kind" text NOT NULL,
	"event" jsonb NOT NULL,
	"retry" jsonb NOT NULL,
	"attempts" integer NOT NULL,
	"last_error" jsonb,
	"depth" integer NOT NULL,
	"first_attempt_at" timestamp with time zone,
	"last_attempt_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"script_id" text NOT NULL,
	"trigger_id" text,
	"kind" text NOT NULL,
	"event" jsonb NOT NULL,
	"retry" jsonb NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"run_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_token" text,
	"lease_until" timestamp with time zone,
	"depth" integer DEFAULT 0 NOT NULL,
	"origin" text NOT NULL,
	"replay_of" text,
	"last_error" jsonb,
	"first_attempt_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dead_letters" ADD CONSTRAINT "dead_letters_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dead_letters_app" ON "dead_letters" USING btree ("app_id","created_at");--> statement-breakpoint
CREATE INDEX "outbox_due" ON "outbox" USING btree ("run_at");--> statement-breakpoint
CREATE INDEX "outbox_app" ON "outbox" USING btree ("app_id");