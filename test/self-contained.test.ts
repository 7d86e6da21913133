import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

// A clone must test itself: nothing under these folders may read the steering
// repository's shared/ folder beside the checkout (fixtures live in test/fixtures).
it("no test, bench or source file names the folder outside the repository", () => {
  const pattern = ["\\.\\.", "shared"].join("/");
  let hits = "";
  try {
    hits = execFileSync("git", ["grep", "-n", "-E", pattern, "--", "packages", "test", "bench", "dashboard", "scripts"], { cwd: root, encoding: "utf8" });
  } catch (error) {
    // git grep exits 1 when nothing matches: the outcome this test wants.
    if ((error as { status?: number }).status !== 1) throw error;
  }
  expect(hits).toBe("");
});
