CREATE TABLE "email_messages" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"run_id" text,
	"script_id" text,
	"status" text NOT NULL,
	"from_address" text NOT NULL,
	"to" jsonb NOT NULL,
	"cc" jsonb NOT NULL,
	"bcc" jsonb NOT NULL,
	"subject" text NOT NULL,
	"message_id" text,
	"accepted" jsonb NOT NULL,
	"rejected" jsonb NOT NULL,
	"error" jsonb,
	"size" integer NOT NULL,
	"body" jsonb,
	"idempotency_key" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inbound_emails" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"trigger_id" text NOT NULL,
	"provider" text NOT NULL,
	"content_type" text NOT NULL,
	"raw" "bytea" NOT NULL,
	"size" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inbound_seen" (
	"trigger_id" text NOT NULL,
	"delivery_key" text,
	"message_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "triggers" ADD COLUMN "secret_sealed" "bytea";--> statement-breakpoint
ALTER TABLE "triggers" ADD COLUMN "secret_previous_sealed" "bytea";--> statement-breakpoint
ALTER TABLE "triggers" ADD COLUMN "secret_previous_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "email_messages" ADD CONSTRAINT "email_messages_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbound_emails" ADD CONSTRAINT "inbound_emails_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbound_seen" ADD CONSTRAINT "inbound_seen_trigger_id_triggers_id_fk" FOREIGN KEY ("trigger_id") REFERENCES "public"."triggers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "email_messages_app" ON "email_messages" USING btree ("app_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "email_messages_idempotency" ON "email_messages" USING btree ("app_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "inbound_emails_app" ON "inbound_emails" USING btree ("app_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "inbound_seen_delivery" ON "inbound_seen" USING btree ("trigger_id","delivery_key");--> statement-breakpoint
CREATE UNIQUE INDEX "inbound_seen_message" ON "inbound_seen" USING btree ("trigger_id","message_id");--> statement-breakpoint
CREATE INDEX "inbound_seen_created" ON "inbound_seen" USING brin ("created_at");