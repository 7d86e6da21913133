import { createHmac } from "node:crypto";
import { afterAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";
import { createThreadSecrets, MAX_ANSWERS_PER_RUN } from "./threads/thread-secrets.ts";
import { SecretPlaceholder, type Host, type RunContext, type SecretsChange } from "./types.ts";

// Issue #17: a run's repeated secrets.get answered on its executor thread,
// from what the caller's Host answered the run before, until the run ends
// or the Host announces a change (Host.watchSecrets).

/** A Host that counts the calls reaching it, per run and name, and announces changes when told. */
function countingHost(watch: boolean) {
  const base = memoryHost({ app_c1: { TOKEN: "tok_cached_1", OBJ: { user: "u", pass: "p4ss_w0rd_long" } }, app_c2: { TOKEN: "tok_other_2" } });
  const listeners = new Set<(change: SecretsChange) => void>();
  const gets: string[] = [];
  const signs: string[] = [];
  let onList: (ctx: RunContext) => void = () => {};
  const host: Host = {
    ...base,
    async getSecret(ctx, name) {
      gets.push(`${ctx.run.id}/${name}`);
      if (name === "BOUND") return new SecretPlaceholder(`sy_bound_${ctx.run.id}`);
      return base.getSecret(ctx, name);
    },
    async signWithSecret(ctx, name, data, algorithm, encoding) {
      signs.push(`${ctx.run.id}/${name}`);
      const value = name === "BOUND" ? "bound_value_never_on_thread" : base.secrets.get(ctx.app.id)?.get(name);
      if (value === undefined) return null;
      return createHmac(algorithm === "HMAC-SHA512" ? "sha512" : "sha256", typeof value === "string" ? value : JSON.stringify(value)).update(data).digest(encoding);
    },
    // The test's hook into the middle of a run: the script calls secrets.list() and waits for its answer.
    async listSecrets(ctx) {
      onList(ctx);
      return [];
    },
    ...(watch
      ? {
          watchSecrets(listener: (change: SecretsChange) => void) {
            listeners.add(listener);
            return () => listeners.delete(listener);
          },
        }
      : {}),
  };
  return {
    host,
    gets,
    signs,
    listeners,
    set(appId: string, name: string, value: unknown) {
      base.secrets.get(appId)?.set(name, value);
    },
    announce(change: SecretsChange) {
      for (const listener of listeners) listener(change);
    },
    duringList(fn: (ctx: RunContext) => void) {
      onList = fn;
    },
  };
}

const watched = countingHost(true);
const executor = createExecutor({ host: watched.host, threads: 2 });
afterAll(() => executor.dispose());

const readsOf = (gets: string[], runId: string, name: string) => gets.filter((g) => g === `${runId}/${name}`).length;

describe("secrets on executor threads", () => {
  test("a run's repeated reads of a name are answered on its thread: the Host hears only the run's first read of each name, a new run's first read again", async () => {
    const script = compileForTest(
      `export default async () => {
        const first = await secrets.get("TOKEN");
        let same = 0;
        for (let i = 0; i < 50; i++) if ((await secrets.get("TOKEN")) === first) same++;
        const missing = [];
        for (let i = 0; i < 5; i++) missing.push(await secrets.get("MISSING"));
        const bound = new Set();
        for (let i = 0; i < 5; i++) bound.add(await secrets.get("BOUND"));
        const obj = await secrets.get("OBJ");
        const objAgain = await secrets.get("OBJ");
        console.log("token " + first + " pass " + objAgain.pass);
        return { same, missing, bound: [...bound], objSame: JSON.stringify(obj) === JSON.stringify(objAgain) };
      };`,
      { appId: "app_c1" },
    );
    for (let round = 0; round < 2; round++) {
      const request = requestFor(script);
      const out = await executor.run(request);
      expect(out.error).toBeNull();
      const runId = request.ctx.run.id;
      expect(out.result).toEqual({ same: 50, missing: [null, null, null, null, null], bound: [`sy_bound_${runId}`], objSame: true });
      expect([readsOf(watched.gets, runId, "TOKEN"), readsOf(watched.gets, runId, "MISSING"), readsOf(watched.gets, runId, "BOUND"), readsOf(watched.gets, runId, "OBJ")]).toEqual([1, 1, 1, 1]);
      // A value answered on the thread is masked as one from the Host.
      expect(out.logs.map((l) => l.message)).toEqual(["token [secret:TOKEN] pass [secret:OBJ]"]);
      expect(out.secretsRead).toEqual(["TOKEN", "BOUND", "OBJ"]);
    }
  });

  test("without watchSecrets every read reaches the Host, as before", async () => {
    const plain = countingHost(false);
    const local = createExecutor({ host: plain.host, threads: 1 });
    try {
      const request = requestFor(compileForTest(`export default async () => { for (let i = 0; i < 20; i++) await secrets.get("TOKEN"); return 1; }`, { appId: "app_c1" }));
      expect((await local.run(request)).error).toBeNull();
      expect(readsOf(plain.gets, request.ctx.run.id, "TOKEN")).toBe(20);
    } finally {
      await local.dispose();
    }
  });

  test("a change announced mid-run is seen by the run's next read; another app's change drops nothing, a change of every app drops all", async () => {
    const script = compileForTest(
      `export default async () => {
        const seen = [await secrets.get("TOKEN")];
        for (let i = 0; i < 3; i++) {
          await secrets.list();
          seen.push(await secrets.get("TOKEN"), await secrets.get("TOKEN"));
        }
        // The last character alone: the values themselves come back masked.
        return seen.map((value) => value.slice(-1));
      };`,
      { appId: "app_c1" },
    );
    // The Host changes the value and announces it while the script waits for secrets.list().
    const steps: Array<() => void> = [
      () => {
        watched.set("app_c1", "TOKEN", "tok_cached_2");
        watched.announce({ appId: "app_c1" });
      },
      () => watched.announce({ appId: "app_c2" }),
      () => {
        watched.set("app_c1", "TOKEN", "tok_cached_3");
        watched.announce({ appId: null });
      },
    ];
    let step = 0;
    watched.duringList(() => steps[step++]?.());
    try {
      const request = requestFor(script);
      const out = await executor.run(request);
      expect(out.error).toBeNull();
      expect(out.result).toEqual(["1", "2", "2", "2", "2", "3", "3"]);
      // First read, after app_c1's change, after the change of all; app_c2's dropped nothing.
      expect(readsOf(watched.gets, request.ctx.run.id, "TOKEN")).toBe(3);
    } finally {
      watched.duringList(() => {});
      watched.set("app_c1", "TOKEN", "tok_cached_1");
    }
  });

  test("secrets.sign of a value the run read is computed on the thread; of a name not read, or of a bound secret, by the Host", async () => {
    const script = compileForTest(
      `export default async () => {
        const before = await secrets.sign("OBJ", "payload", { algorithm: "HMAC-SHA512" });
        await secrets.get("TOKEN");
        await secrets.get("BOUND");
        const token = await secrets.sign("TOKEN", "payload");
        const bound = await secrets.sign("BOUND", "payload");
        let missing = null;
        await secrets.get("MISSING");
        try { await secrets.sign("MISSING", "payload"); } catch (e) { missing = e.code; }
        return { before, token, bound, missing };
      };`,
      { appId: "app_c1" },
    );
    const request = requestFor(script);
    const out = await executor.run(request);
    expect(out.error).toBeNull();
    const hmac = (algorithm: string, key: string) => createHmac(algorithm, key).update("payload").digest("hex");
    expect(out.result).toEqual({
      before: hmac("sha512", JSON.stringify({ user: "u", pass: "p4ss_w0rd_long" })),
      token: hmac("sha256", "tok_cached_1"),
      bound: hmac("sha256", "bound_value_never_on_thread"),
      missing: "not_found",
    });
    const runId = request.ctx.run.id;
    expect(watched.signs.filter((s) => s.startsWith(`${runId}/`))).toEqual([`${runId}/OBJ`, `${runId}/BOUND`]);
  });
});

describe("a thread's secret answers (thread-secrets.ts)", () => {
  const ctx: RunContext = { app: { id: "app_u", name: "u" }, trigger: null, run: { id: "run_u1", attempt: 1, event_id: "evt_u1" } };
  const counted = () => {
    let calls = 0;
    let value = "v1";
    const main: Host = {
      async getSecret() {
        calls++;
        return value;
      },
      async listSecrets() {
        return [];
      },
      async sendEmail() {
        return null;
      },
    };
    return { main, calls: () => calls, set: (v: string) => (value = v) };
  };

  test("a change counted in shared memory and not yet handled answers nothing from before it", async () => {
    const generation = new Int32Array(new SharedArrayBuffer(4));
    const { main, calls, set } = counted();
    const secrets = createThreadSecrets(main, generation);
    secrets.begin(ctx);
    expect(await secrets.host.getSecret(ctx, "K")).toBe("v1");
    expect(await secrets.host.getSecret(ctx, "K")).toBe("v1");
    expect(calls()).toBe(1);
    // The caller's thread took a change: counted at once, its message still queued.
    set("v2");
    Atomics.add(generation, 0, 1);
    expect(await secrets.host.getSecret(ctx, "K")).toBe("v2");
    expect(await secrets.host.getSecret(ctx, "K")).toBe("v2");
    expect(calls()).toBe(3);
    // Handled: answers are repeated again.
    secrets.changed(1, "app_u");
    expect(await secrets.host.getSecret(ctx, "K")).toBe("v2");
    expect(await secrets.host.getSecret(ctx, "K")).toBe("v2");
    expect(calls()).toBe(4);
  });

  test("an answer that crossed while a change was counted is not kept; a run's answers go when it ends", async () => {
    const generation = new Int32Array(new SharedArrayBuffer(4));
    const { main, calls } = counted();
    const racing: Host = {
      ...main,
      async getSecret(c, name) {
        const answer = await main.getSecret(c, name);
        Atomics.add(generation, 0, 1);
        return answer;
      },
    };
    const secrets = createThreadSecrets(racing, generation);
    secrets.begin(ctx);
    await secrets.host.getSecret(ctx, "K");
    // The change's message, handled: it names another app, so it drops nothing itself.
    secrets.changed(Atomics.load(generation, 0), "app_other");
    await secrets.host.getSecret(ctx, "K");
    expect(calls()).toBe(2);
    const steady = createThreadSecrets(main, new Int32Array(new SharedArrayBuffer(4)));
    steady.begin(ctx);
    await steady.host.getSecret(ctx, "K");
    await steady.host.getSecret(ctx, "K");
    expect(calls()).toBe(3);
    steady.end(ctx);
    // Code the run left behind reads after its end: the Host answers, and nothing is kept.
    await steady.host.getSecret(ctx, "K");
    await steady.host.getSecret(ctx, "K");
    expect(calls()).toBe(5);
  });

  test("keeps answers for at most MAX_ANSWERS_PER_RUN names of a run; past it reads are answered and not kept", async () => {
    const { main, calls } = counted();
    const secrets = createThreadSecrets(main, new Int32Array(new SharedArrayBuffer(4)));
    secrets.begin(ctx);
    for (let i = 0; i < MAX_ANSWERS_PER_RUN + 50; i++) await secrets.host.getSecret(ctx, `N${i}`);
    expect(calls()).toBe(MAX_ANSWERS_PER_RUN + 50);
    // The first names are kept and repeated...
    await secrets.host.getSecret(ctx, "N0");
    await secrets.host.getSecret(ctx, `N${MAX_ANSWERS_PER_RUN - 1}`);
    expect(calls()).toBe(MAX_ANSWERS_PER_RUN + 50);
    // ...the names past the cap reach the Host each time.
    await secrets.host.getSecret(ctx, `N${MAX_ANSWERS_PER_RUN}`);
    await secrets.host.getSecret(ctx, `N${MAX_ANSWERS_PER_RUN}`);
    expect(calls()).toBe(MAX_ANSWERS_PER_RUN + 52);
  });
});
