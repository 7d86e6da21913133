// Run by embedded.ts's initClusterApart in a child process: creates the
// PGlite cluster in the folder named by argv[2], then exits, taking initdb's
// memory with it. Plain JavaScript: the child runs without the TypeScript loader.
import { PGlite } from "@electric-sql/pglite";

const dataDir = process.argv[2];
if (!dataDir) {
  console.error("usage: embedded-initdb.mjs DATA_DIR");
  process.exit(2);
}
const pg = await PGlite.create({ dataDir });
await pg.query("select 1");
await pg.close();
