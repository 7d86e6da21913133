import { defineConfig } from "drizzle-kit";

// `pnpm db:generate` writes numbered SQL into migrations/ from the schema in packages/db.
export default defineConfig({
  dialect: "postgresql",
  schema: "./packages/db/src/schema/index.ts",
  out: "./migrations",
});
