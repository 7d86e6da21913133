import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, cliPath, finished, runCli, startDevServerWithApp, type CliResult, type DevServer } from "./support/cli.ts";

/** `switchyard <args>` with `input` written to its stdin (support/cli.ts's runCli closes stdin). */
function runWithStdin(args: string[], env: Record<string, string>, input: string): Promise<CliResult> {
  const child = spawn(process.execPath, [cliPath, ...args], { env: cleanEnv(env), stdio: ["pipe", "pipe", "pipe"] });
  const output = { stdout: "", stderr: "" };
  child.stdout.on("data", (d: Buffer) => (output.stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output.stderr += d.toString()));
  child.stdin.end(input);
  return finished(Object.assign(child, { output }));
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Each CLI run is a fresh Node process (about a second under load), so tests get more than the default 30 s.
describe("switchyard secrets against a running server", { timeout: 90_000 }, () => {
  let dir: string;
  let devServer: DevServer;
  let env: { SWITCHYARD_URL: string; SWITCHYARD_TOKEN: string };
  const cli = (...args: string[]) => runCli(["secrets", ...args], env);
  const app = ["--app", "billing"];

  beforeAll(async () => {
    devServer = await startDevServerWithApp("sy-cli-secrets-", "billing");
    ({ env, dir } = devServer);
  }, 90_000);

  afterAll(async () => {
    if (devServer) expect(await devServer.stop()).toBe(0);
  });

  it("sets a value read from stdin without echoing it, and get prints it back unchanged", async () => {
    const set = await runWithStdin(["secrets", "set", "API_KEY", ...app], env, "sk_live one two\n");
    expect(set.stderr).toBe("");
    expect(set.code).toBe(0);
    expect(set.stdout).toBe("set API_KEY (version 1, scope app)\n");
    const get = await cli("get", "API_KEY", ...app);
    expect(get.code).toBe(0);
    // One trailing newline was stripped on the way in; get adds exactly one.
    expect(get.stdout).toBe("sk_live one two\n");
  });

  it("refuses an empty stdin instead of storing an empty value", async () => {
    const set = await runWithStdin(["secrets", "set", "EMPTY", ...app], env, "");
    expect(set.code).toBe(2);
    expect(set.stderr).toMatch(/no value on stdin for EMPTY/);
  });

  it("set --json stores an object, which get prints as JSON", async () => {
    const value = { user: "svc", ports: [5432, 6432], tls: true };
    const set = await cli("set", "DB", JSON.stringify(value), "--json", ...app);
    expect(set.code).toBe(0);
    expect(set.stdout).not.toContain("svc");
    expect(JSON.parse((await cli("get", "DB", ...app)).stdout)).toEqual(value);
    const whole = JSON.parse((await cli("get", "DB", "--json", ...app)).stdout);
    expect(whole).toMatchObject({ name: "DB", value, scope: "app", version: 1 });
  });

  it("set --json with a value that does not parse exits 2 without showing the value", async () => {
    const set = await runWithStdin(["secrets", "set", "BROKEN", "--json", ...app], env, "{not-json-hunter2");
    expect(set.code).toBe(2);
    expect(set.stderr).toMatch(/not valid JSON/);
    expect(set.stderr).not.toContain("hunter2");
    expect((await cli("get", "BROKEN", ...app)).code).toBe(1);
  });

  it("list shows names and scopes but never values; --json gives the API's answer", async () => {
    const list = await cli("list", ...app);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+SCOPE\s+VERSION\s+UPDATED\s+BOUND\s+OVERRIDES$/);
    expect(lines.find((l) => l.startsWith("API_KEY "))).toMatch(/^API_KEY\s+app\s+1\s/);
    expect(list.stdout).not.toContain("sk_live");
    const json = JSON.parse((await cli("list", "--json", ...app)).stdout);
    expect(json.secrets.map((s: any) => s.name)).toEqual(expect.arrayContaining(["API_KEY", "DB"]));
    expect(JSON.stringify(json)).not.toContain("sk_live");
  });

  it("lists versions and rolls back to an old value as a new version", async () => {
    expect((await cli("set", "ROTATED", "first", ...app)).code).toBe(0);
    expect((await cli("set", "ROTATED", "second", ...app)).stdout).toBe("set ROTATED (version 2, scope app)\n");
    const versions = await cli("versions", "ROTATED", ...app);
    expect(versions.code).toBe(0);
    const rows = versions.stdout.trim().split("\n").slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^2 \(current\)\s+\S+ \S+\s+\S+\s+set\s+8\s+-$/);
    expect(rows[1]).toMatch(/^1\s/);

    const rollback = await cli("rollback", "ROTATED", "--version", "1", ...app);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toBe("rolled back ROTATED to version 1 (now version 3, scope app)\n");
    expect((await cli("get", "ROTATED", ...app)).stdout).toBe("first\n");
    const json = JSON.parse((await cli("versions", "ROTATED", "--json", ...app)).stdout);
    expect(json.versions.map((v: any) => v.version)).toEqual([3, 2, 1]);
    expect((await cli("rollback", "ROTATED", ...app)).code).toBe(2);
  });

  it("set --bind binds a secret to hosts, list and versions show it, a new value keeps it, --unbind removes it", async () => {
    const set = await cli("set", "STRIPE_KEY_B", "sk_bound_value_123456", "--bind", "API.Stripe.com", "--bind", "*.stripe.com:443,hooks.example.com", ...app);
    expect(set.stderr).toBe("");
    expect(set.stdout).toBe("set STRIPE_KEY_B (version 1, scope app, bound to *.stripe.com:443, api.stripe.com, hooks.example.com)\n");
    const list = await cli("list", ...app);
    expect(list.stdout).toMatch(/^STRIPE_KEY_B\s+app\s+1\s+\S+ \S+\s+\*\.stripe\.com:443,api\.stripe\.com,hooks\.example\.com\s+-$/m);
    expect(list.stdout).toMatch(/^API_KEY\s+app\s+1\s+\S+ \S+\s+-\s+-$/m);
    expect(list.stdout).not.toContain("sk_bound");
    const json = JSON.parse((await cli("list", "--json", ...app)).stdout);
    expect(json.secrets.find((s: any) => s.name === "STRIPE_KEY_B").bound_hosts).toEqual(["*.stripe.com:443", "api.stripe.com", "hooks.example.com"]);

    expect((await cli("set", "STRIPE_KEY_B", "sk_bound_value_rotated", ...app)).stdout).toBe(
      "set STRIPE_KEY_B (version 2, scope app, bound to *.stripe.com:443, api.stripe.com, hooks.example.com)\n",
    );
    expect((await cli("set", "STRIPE_KEY_B", "sk_bound_value_rotated", "--unbind", ...app)).stdout).toBe("set STRIPE_KEY_B (version 3, scope app)\n");
    const versions = (await cli("versions", "STRIPE_KEY_B", ...app)).stdout.trim().split("\n");
    expect(versions[0]).toMatch(/\sBOUND$/);
    expect(versions[1]).toMatch(/^3 \(current\)\s.*\s-$/);
    expect(versions[2]).toMatch(/^2\s.*\s\*\.stripe\.com:443,api\.stripe\.com,hooks\.example\.com$/);
  });

  it("set --bind refuses a bad host naming it (exit 1), --bind with --unbind (exit 2), and a loosening by a token that may not reveal (exit 1)", async () => {
    const bad = await cli("set", "BAD_BIND", "value", "--bind", "ok.example.com", "--bind", "10.0.0.0/8", ...app);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/"10\.0\.0\.0\/8" is a range \(CIDR\).*\(invalid_input\)/);
    expect((await cli("get", "BAD_BIND", ...app)).code).toBe(1);
    const both = await cli("set", "BAD_BIND", "value", "--bind", "a.example.com", "--unbind", ...app);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--bind or --unbind, not both/);

    expect((await cli("set", "GUARDED_B", "guarded-value-123", "--bind", "api.example.com", ...app)).code).toBe(0);
    const made = await fetch(`${env.SWITCHYARD_URL}/api/v1/admin/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${env.SWITCHYARD_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "writer", scopes: ["secrets:write", "secrets:read"] }),
    });
    const writer = { ...env, SWITCHYARD_TOKEN: ((await made.json()) as { token: string }).token };
    const loosen = await runCli(["secrets", "set", "GUARDED_B", "guarded-value-123", "--unbind", ...app], writer);
    expect(loosen.code).toBe(1);
    expect(loosen.stderr).toMatch(/needs the secrets:reveal scope.*\(forbidden\)/);
    const own = await runCli(["secrets", "set", "GUARDED_B", "writers-own-value", "--unbind", ...app], writer);
    expect(own.stdout).toBe("set GUARDED_B (version 2, scope app)\n");
  });

  it("delete removes a secret; get then exits 1 with not_found", async () => {
    expect((await cli("set", "DOOMED", "x", ...app)).code).toBe(0);
    const del = await cli("delete", "DOOMED", ...app);
    expect(del.code).toBe(0);
    expect(del.stdout).toBe("deleted DOOMED from app billing\n");
    const get = await cli("get", "DOOMED", ...app);
    expect(get.code).toBe(1);
    expect(get.stdout).toBe("");
    expect(get.stderr).toMatch(/^switchyard: .*DOOMED.* \(not_found\)$/m);
  });

  it("imports a dotenv file: --dry-run previews and stores nothing, then the real import stores it", async () => {
    const file = join(dir, "prod.env");
    await writeFile(file, '# billing\nSTRIPE_KEY=sk_1\nexport WEBHOOK_URL="https://example.com/h"\nAPI_KEY=sk_live one two\n');
    const dry = await cli("import", file, "--dry-run", ...app);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^created\s+STRIPE_KEY\s+2$/m);
    expect(dry.stdout).toMatch(/^created\s+WEBHOOK_URL\s+3$/m);
    expect(dry.stdout).toMatch(/^unchanged\s+API_KEY\s+4$/m);
    expect(dry.stdout).toMatch(/dry run for app billing: 2 created, 0 updated, 1 unchanged; nothing was stored/);
    expect((await cli("get", "STRIPE_KEY", ...app)).code).toBe(1);

    const real = await cli("import", file, ...app);
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/imported into app billing: 2 created, 0 updated, 1 unchanged/);
    expect((await cli("get", "WEBHOOK_URL", ...app)).stdout).toBe("https://example.com/h\n");

    // From stdin, with `-`.
    const piped = await runWithStdin(["secrets", "import", "-", "--json", ...app], env, "STRIPE_KEY=sk_2\n");
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ dry_run: false, updated: 1, results: [{ name: "STRIPE_KEY", status: "updated", line: 1 }] });
  });

  it("rejects an import with a bad line, naming the line, and stores nothing", async () => {
    const file = join(dir, "bad.env");
    await writeFile(file, "FRESH_ONE=1\nthis is not an assignment\nFRESH_TWO=2\n");
    const result = await cli("import", file, ...app);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/line 2: expected NAME=value.*\(invalid_input\)/);
    expect((await cli("get", "FRESH_ONE", ...app)).code).toBe(1);
    expect((await cli("list", ...app)).stdout).not.toContain("FRESH_");
  });

  it("sets workspace and global secrets, which an app lists as inherited", async () => {
    expect((await cli("set", "SHARED", "from-workspace", "--workspace", "default")).stdout).toBe("set SHARED (version 1, scope workspace)\n");
    expect((await cli("set", "SHARED", "from-global", "--global")).stdout).toBe("set SHARED (version 1, scope global)\n");
    expect((await cli("set", "ONLY_GLOBAL", "g", "--global")).code).toBe(0);
    const list = await cli("list", ...app);
    expect(list.stdout).toMatch(/^SHARED\s+workspace\s+1\s+.*\sglobal$/m);
    expect(list.stdout).toMatch(/^ONLY_GLOBAL\s+global\s+1\s/m);
    expect((await cli("get", "SHARED", ...app)).stdout).toBe("from-workspace\n");
    expect((await cli("list", "--global")).stdout).toMatch(/^SHARED\s+global\s/m);
    // An inherited secret is not the app's own to delete.
    const del = await cli("delete", "SHARED", ...app);
    expect(del.code).toBe(1);
    expect(del.stderr).toMatch(/inherited from the workspace scope.*\(not_found\)/);
  });

  it("needs a token and exactly one target (exit 2)", async () => {
    const noToken = await runCli(["secrets", "list", ...app], { SWITCHYARD_URL: env.SWITCHYARD_URL });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/SWITCHYARD_TOKEN is not set/);
    for (const args of [["list"], ["list", "--app", "billing", "--global"], ["get", "X", "--workspace", "default", "--app", "billing"]]) {
      const result = await cli(...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/give exactly one target/);
    }
    expect((await cli("frobnicate", ...app)).code).toBe(2);
  });

  it("reports API and network errors with exit 1 and never prints the token", async () => {
    const wrong = await runCli(["secrets", "list", ...app], { ...env, SWITCHYARD_TOKEN: "sy_not_a_real_token" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/\(unauthorized\)/);
    expect(wrong.stderr).not.toContain("sy_not_a_real_token");
    const url = `http://127.0.0.1:${await closedPort()}`;
    const down = await runCli(["secrets", "list", ...app], { ...env, SWITCHYARD_URL: url });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`cannot reach Switchyard at ${url}`);
    expect(down.stderr).not.toContain(env.SWITCHYARD_TOKEN);
  });

  it("prints usage for --help (exit 0)", async () => {
    const overview = await runCli(["secrets", "--help"], {});
    expect(overview.code).toBe(0);
    expect(overview.stdout).toMatch(/Usage: switchyard secrets <verb>/);
    for (const verb of ["list", "get", "set", "delete", "import", "versions", "rollback"]) {
      const result = await runCli(["secrets", verb, "--help"], {});
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: switchyard secrets ${verb}`);
    }
    const set = (await runCli(["secrets", "set", "--help"], {})).stdout;
    expect(set).toContain("--bind HOST");
    expect(set).toContain("--unbind");
    expect(set).toMatch(/needs a token with\s+secrets:reveal/);
  });
});
