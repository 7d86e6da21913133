CREATE TABLE "connectivity_minutes" (
	"app_id" text NOT NULL,
	"host" text NOT NULL,
	"worker_id" text NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	"requests" integer NOT NULL,
	"errors" integer NOT NULL,
	"errors_by_code" jsonb NOT NULL,
	"latency_histogram" jsonb NOT NULL,
	"last_status" integer,
	"last_error" text,
	"last_error_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"last_attempt_at" timestamp with time zone NOT NULL,
	"recent" jsonb NOT NULL,
	CONSTRAINT "connectivity_minutes_app_id_host_worker_id_minute_pk" PRIMARY KEY("app_id","host","worker_id","minute")
);
--> statement-breakpoint
CREATE TABLE "connectivity_status" (
	"app_id" text NOT NULL,
	"host" text NOT NULL,
	"status" text NOT NULL,
	"since" timestamp with time zone NOT NULL,
	"last_error" text,
	"changes" bigint DEFAULT 0 NOT NULL,
	"checked_at" timestamp with time zone NOT NULL,
	"recovered_at" timestamp with time zone,
	CONSTRAINT "connectivity_status_app_id_host_pk" PRIMARY KEY("app_id","host")
);
--> statement-breakpoint
ALTER TABLE "secret_versions" ADD COLUMN "bound_hosts" jsonb;--> statement-breakpoint
ALTER TABLE "secrets" ADD COLUMN "bound_hosts" jsonb;--> statement-breakpoint
ALTER TABLE "connectivity_minutes" ADD CONSTRAINT "connectivity_minutes_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connectivity_status" ADD CONSTRAINT "connectivity_status_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "connectivity_minutes_minute" ON "connectivity_minutes" USING btree ("minute");