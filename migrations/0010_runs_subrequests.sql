-- Every fetch a run made or tried is on its record (method, scheme://host/path,
-- status, duration_ms, bytes, outcome), masked like its logs. Older runs made
-- none. A constant default adds the column without rewriting the table.
ALTER TABLE "runs" ADD COLUMN "subrequests" jsonb DEFAULT '[]'::jsonb NOT NULL;
