// Filled in by the storage harness: prepares one migrated PGlite template per run.
export default async function setup(): Promise<void> {}
