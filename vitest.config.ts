import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // isolated-vm on Node 20 crashes without it (its README: Node 20+ needs --no-node-snapshot).
    execArgv: ["--no-node-snapshot"],
  },
});
