-- A token that may deploy, invoke or trigger an app's code could always read
-- that app's secrets through the code (secrets.get), so scripts:write and
-- triggers:write are as strong as secrets:reveal. New tokens must ask for
-- secrets:reveal beside them; this writes it into the tokens that already hold
-- the power, and leaves one audit row per token saying so. Admin tokens imply
-- every scope and are left as they are. Running it twice changes nothing.
WITH "widened" AS (
  UPDATE "api_tokens" SET "scopes" = array_append("scopes", 'secrets:reveal')
  WHERE "scopes" && ARRAY['scripts:write', 'triggers:write']::text[]
    AND NOT ("scopes" && ARRAY['secrets:reveal', 'admin']::text[])
  RETURNING "id", "name", "workspace_id", "scopes"
)
INSERT INTO "audit_log" ("actor_type", "actor_id", "action", "outcome", "workspace_id", "name", "details")
SELECT 'system', 'migration:0009', 'token.scopes_widened', 'ok', "workspace_id", "name",
  jsonb_build_object('token_id', "id", 'added', 'secrets:reveal', 'scopes', to_jsonb("scopes"))
FROM "widened";
