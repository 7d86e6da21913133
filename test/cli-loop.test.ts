import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finished, runCli, startCli, startDevServerWithApp, type DevServer } from "./support/cli.ts";
import { waitFor } from "./support/wait.ts";

// The script author's loop from a shell against a real `serve --dev`:
// deploy (a compile error first), invoke, tail, triggers, runs, dead letters.

const BROKEN = `export default async (event: { payload: { n: number } }) => {
  console.log("got", event.payload.n);
  return { doubled: event.payload.n * 2 ;
};
`;
const FIXED = `export default async (event: { payload: { n: number } }) => {
  console.log("got", event.payload.n);
  if (event.payload.n < 0) throw new Error("negative");
  return { doubled: event.payload.n * 2 };
};
`;

// Each CLI run is a fresh Node process (about a second under load), so tests get more than the default 30 s.
describe("the script author's loop from the CLI against a running server", { timeout: 180_000 }, () => {
  let dir: string;
  let devServer: DevServer;
  let env: { SWITCHYARD_URL: string; SWITCHYARD_TOKEN: string };
  const cli = (...args: string[]) => runCli(args, env);
  const file = () => join(dir, "welcome.ts");

  beforeAll(async () => {
    devServer = await startDevServerWithApp("sy-cli-loop-", "shop");
    ({ env, dir } = devServer);
  }, 90_000);

  afterAll(async () => {
    if (devServer) expect(await devServer.stop()).toBe(0);
  });

  it("refuses a TypeScript file that does not compile with file:line:column and exit 1, then deploys the fixed file and a new version", async () => {
    await writeFile(file(), BROKEN);
    const broken = await cli("scripts", "deploy", file(), "--app", "shop");
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`${file()}:3:41: error: Expected "}" but found ";"`);
    expect(broken.stderr).toContain('  return { doubled: event.payload.n * 2 ;\n');
    expect(broken.stderr).toMatch(/welcome was not deployed: it does not compile/);
    const json = await cli("scripts", "deploy", file(), "--app", "shop", "--json");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: "unprocessable", details: { diagnostics: [{ line: 3, column: 41 }] } });
    expect((await cli("scripts", "list", "--app", "shop")).stdout).toBe("no scripts in app shop\n");

    await writeFile(file(), FIXED);
    const created = await cli("scripts", "deploy", file(), "--app", "shop");
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created welcome version 1 \(scr_\w+\) in app shop\n$/);
    const again = await cli("scripts", "deploy", file(), "--app", "shop", "--json");
    expect(JSON.parse(again.stdout)).toMatchObject({ name: "welcome", version: 2, language: "ts" });
    expect(JSON.parse(again.stdout).source).toBeUndefined();
    const list = await cli("scripts", "list", "--app", "shop");
    expect(list.stdout).toMatch(/^NAME\s+VERSION\s+LANGUAGE\s+UPDATED\s+ID\nwelcome\s+2\s+ts\s/);
  });

  it("invokes with a payload and prints the run; a failed run exits 1 with its error", async () => {
    const ok = await cli("invoke", "--app", "shop", "welcome", "--payload", '{"n":21}');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^run_\w+ {2}ok in \d+ ms {2}\(welcome, manual, attempt 1\)\n {2}log {3}got 21\n {2}result \{"doubled":42\}\n$/);
    await writeFile(join(dir, "payload.json"), '{"n":5}');
    const json = await cli("invoke", "--app", "shop", "welcome", "--payload", `@${join(dir, "payload.json")}`, "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({ status: "ok", result: { doubled: 10 }, logs: [{ message: "got 5" }] });
    const failed = await cli("invoke", "--app", "shop", "welcome", "--payload", '{"n":-1}');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/error in \d+ ms/);
    expect(failed.stdout).toContain("  error Error: negative\n");
    expect(failed.stdout).toMatch(/at \S+ \(welcome\.ts:3:\d+\)/);
  });

  it("tails runs live until Ctrl-C (exit 130), and replays a dead letter, whose run arrives on the tail", async () => {
    const tail = startCli(["runs", "tail", "--app", "shop"], env);
    // The tail is connected once the server counts its stream; give its process time to start.
    await new Promise((r) => setTimeout(r, 1500));
    const invoked = await cli("invoke", "--app", "shop", "welcome", "--payload", '{"n":3}', "--no-wait");
    expect(invoked.stdout).toMatch(/^evt_\w+\n$/);
    await waitFor(async () => tail.output.stdout.includes("got 3"), 30_000);
    // The retries of the failed run above may come first.
    expect(tail.output.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {2}run_\w+ {2}ok in \d+ ms {2}\(welcome, manual, attempt 1\)\n {2}log {3}got 3\n/m);

    // The -1 run of the test above was retried to exhaustion (3 attempts, 1 s then 2 s apart).
    const letters = await waitFor(async () => {
      const listed = JSON.parse((await cli("dead-letters", "list", "--app", "shop", "--json")).stdout).dead_letters as any[];
      return listed.length > 0 && listed;
    }, 30_000);
    const human = await cli("dead-letters", "list", "--app", "shop");
    expect(human.stdout).toMatch(/^ID\s+KIND\s+SCRIPT\s+ATTEMPTS\s+CREATED\s+LAST ERROR\ndl_\w+\s+manual\s+welcome\s+3\s+.*negative\n$/);
    const replay = await cli("dead-letters", "replay", letters[0].id);
    expect(replay.code).toBe(0);
    const eventId = /as event (evt_\w+)/.exec(replay.stdout)?.[1];
    expect(eventId).toBeDefined();
    await waitFor(async () => (tail.output.stdout.match(/got -1/g) ?? []).length >= 1, 30_000);
    expect((await cli("dead-letters", "list", "--app", "shop")).stdout).toBe("no dead letters in app shop\n");

    tail.kill("SIGINT");
    const ended = await finished(tail);
    expect(ended.code).toBe(130);
    // The replayed event's run is the last failed one the tail printed.
    const shown = [...ended.stdout.matchAll(/(run_\w+) {2}error/g)].at(-1)?.[1];
    const show = await cli("runs", "show", shown ?? "");
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`event ${eventId}`);
  });

  it("lists runs and triggers, creates triggers, and says what is wrong with exit 2 for usage and 1 for the service", async () => {
    const runs = await cli("runs", "list", "--app", "shop", "--status", "ok", "--limit", "2");
    expect(runs.stdout.split("\n")[0]).toMatch(/^RUN\s+STATUS\s+SCRIPT\s+KIND\s+ATTEMPT\s+STARTED\s+DURATION$/);
    expect(runs.stdout.trim().split("\n")).toHaveLength(3);
    expect(runs.stderr).toMatch(/^more: switchyard runs list --app shop --before run_\w+\n$/);
    const cron = await cli("triggers", "create", "--app", "shop", "--kind", "cron", "--script", "welcome", "--schedule", "*/5 * * * *", "--timezone", "Europe/Paris");
    expect(cron.stdout).toMatch(/^created cron trigger welcome-cron \(trg_\w+\) for script welcome\n$/);
    const hook = await cli("triggers", "create", "--app", "shop", "--kind", "http", "--script", "welcome", "--name", "orders", "--signing");
    expect(hook.stdout).toMatch(/url: http:\/\/127\.0\.0\.1:\d+\/api\/v1\/hooks\/trg_\w+\n/);
    expect(hook.stdout).toMatch(/signing secret \(shown this once\): whsec_/);
    const triggers = JSON.parse((await cli("triggers", "list", "--app", "shop", "--json")).stdout).triggers as any[];
    expect(triggers.map((t) => [t.name, t.kind, t.config.timezone ?? null])).toEqual(expect.arrayContaining([["welcome-cron", "cron", "Europe/Paris"], ["orders", "http", null]]));

    const badCron = await cli("triggers", "create", "--app", "shop", "--kind", "cron", "--script", "welcome", "--schedule", "every day");
    expect(badCron.code).toBe(1);
    expect(badCron.stderr).toMatch(/config\.schedule/);
    expect((await cli("invoke", "--app", "shop", "welcome", "--payload", "{nope")).code).toBe(2);
    expect((await cli("runs", "list")).stderr).toMatch(/--app is required/);
    expect((await cli("runs", "frob", "--app", "shop")).code).toBe(2);
    const missing = await cli("invoke", "--app", "nowhere", "welcome");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/app "nowhere" was not found \(not_found\)/);
    expect((await runCli(["runs", "list", "--app", "shop"], { SWITCHYARD_URL: env.SWITCHYARD_URL })).code).toBe(2);
    for (const args of [["scripts", "deploy"], ["invoke"], ["triggers", "create"], ["runs", "tail"], ["dead-letters", "replay"]]) {
      const help = await cli(...args, "--help");
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/^Usage: switchyard /);
    }
  });
});
