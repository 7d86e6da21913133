-- Every finished attempt inserts a run row, and the foreign key to apps made
-- each insert look the app up and lock its row: 12 µs of the completion's
-- ~60 µs a job (PostgreSQL 15, batches of 32). The key protected nothing the
-- completion does not already: a run is inserted only by a completion that,
-- in the same transaction, deletes or reschedules its event's outbox row
-- under its lease, and outbox rows cascade from apps, so no run of a deleted
-- app can be written. What the key's cascade did on an app's deletion, the
-- trigger below does. It is named in lower case so it fires after the
-- foreign keys' own triggers (same event, fired in name order): after the
-- outbox's cascade, which waits for a completion holding one of the app's
-- outbox rows, so the runs that completion committed are deleted too.
ALTER TABLE "runs" DROP CONSTRAINT "runs_app_id_apps_id_fk";--> statement-breakpoint
CREATE FUNCTION "switchyard_delete_app_runs"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "runs" WHERE "app_id" = OLD."id";
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "apps_delete_runs" AFTER DELETE ON "apps" FOR EACH ROW EXECUTE FUNCTION "switchyard_delete_app_runs"();
