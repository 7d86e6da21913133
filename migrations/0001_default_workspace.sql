-- A `default` workspace always exists: apps created without a workspace land here.
INSERT INTO "workspaces" ("id", "name") VALUES ('ws_default', 'default') ON CONFLICT DO NOTHING;
