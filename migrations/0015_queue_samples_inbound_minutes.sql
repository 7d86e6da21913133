CREATE TABLE "inbound_minutes" (
	"app_id" text,
	"channel" text NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	"accepted" integer DEFAULT 0 NOT NULL,
	"refused" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "inbound_minutes_key" UNIQUE NULLS NOT DISTINCT("app_id","minute","channel")
);
--> statement-breakpoint
CREATE TABLE "queue_samples" (
	"app_id" text,
	"minute" timestamp with time zone NOT NULL,
	"depth" integer NOT NULL,
	"due" integer NOT NULL,
	"running" integer NOT NULL,
	"oldest_due_ms" bigint,
	"sampled_at" timestamp with time zone NOT NULL,
	CONSTRAINT "queue_samples_app_minute" UNIQUE NULLS NOT DISTINCT("app_id","minute")
);
--> statement-breakpoint
ALTER TABLE "inbound_minutes" ADD CONSTRAINT "inbound_minutes_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "queue_samples" ADD CONSTRAINT "queue_samples_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "inbound_minutes_minute" ON "inbound_minutes" USING btree ("minute");--> statement-breakpoint
CREATE INDEX "queue_samples_minute" ON "queue_samples" USING btree ("minute");