/**
 * bench/secrets: the script read path of the secrets service against a bare
 * AES-256-GCM open of the same value, measured in one run.
 *
 * @example
 * pnpm --filter @switchyard/bench bench:secrets            # PostgreSQL on 127.0.0.1:5432
 * pnpm --filter @switchyard/bench bench:secrets --quick    # smoke run, a few seconds
 * pnpm --filter @switchyard/bench bench:secrets --pglite   # embedded PGlite instead
 *
 * With SoftHSM2 installed, the uncached read is also measured with the master
 * key in a PKCS#11 token (a temporary SoftHSM2 token), beside the environment
 * keyring: every call unwraps its data key inside the token.
 */
import { parseArgs } from "node:util";
import type { Principal } from "@switchyard/core";
import { generateDataKey, Keyring, open, seal, SecretKey, unwrapDataKey, wrapDataKey } from "@switchyard/crypto";
import { openPkcs11Token, type Pkcs11Token } from "@switchyard/pkcs11";
import { createSoftHsm, softHsmAvailable, type SoftHsm } from "../../test/support/softhsm.ts";
import { machineInfo } from "../support/machine.ts";
import { asyncCase, interleave, syncCase, type InterleaveOptions } from "../support/measure.ts";
import { formatNs, type Summary } from "../support/stats.ts";
import { parseBenchOptions } from "../support/options.ts";
import { renderSummaryTable, renderTable } from "../support/table.ts";
import { openFixture, type SecretsFixture } from "./fixture.ts";

const DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

const USAGE = `usage: bench:secrets [--quick] [--pglite] [--json] [--url postgres://user@host:port/db]
  --quick   a smoke run with few samples (seconds; figures are rough)
  --pglite  run on embedded PGlite instead of PostgreSQL
  --json    print the results as one JSON object instead of tables
  --url     PostgreSQL to create the scratch database on (default ${DEFAULT_ADMIN_URL})`;

// Calls under a few microseconds are timed 100 at a time: one hrtime read
// costs tens of nanoseconds, too much next to a single ~1 µs open.
const BATCH = 100;

interface Plan {
  inMemory: InterleaveOptions;
  uncached: InterleaveOptions;
}

// Full: about 10-20 s on a 2-core VM, most of it the uncached PostgreSQL rounds.
const FULL: Plan = { inMemory: { warmupRounds: 1_000, rounds: 5_000 }, uncached: { warmupRounds: 200, rounds: 2_000 } };
const QUICK: Plan = { inMemory: { warmupRounds: 50, rounds: 200 }, uncached: { warmupRounds: 10, rounds: 50 } };

const CASES = {
  bare: "bare open (AES-256-GCM + JSON.parse)",
  cached: "cached resolve",
  uncachedSame: "uncached resolve, same run (no audit write)",
  uncachedNew: "uncached resolve, new run (+ audit insert)",
  roundTrip: "database round trip (select 1), for scale",
  unwrapEnvironment: "data key unwrap, environment keyring",
  unwrapPkcs11: "data key unwrap, PKCS#11 (SoftHSM2)",
  uncachedPkcs11: "uncached resolve, same run, PKCS#11 (SoftHSM2)",
} as const;

/** The short key of a case (`bare`, `cached`, ...) for --json readers. */
const caseId = (name: string) => Object.entries(CASES).find(([, label]) => label === name)?.[0] ?? name;

const CACHED_RATIO_TARGET = 2;
const UNCACHED_P50_TARGET_NS = 1_000_000;

/** The run was stopped by a signal; not a failure of what is measured. */
class InterruptedError extends Error {
  override readonly name = "InterruptedError";
  readonly code = "interrupted";
  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

interface TargetCheck {
  what: string;
  measured: string;
  target: string;
  verdict: "PASS" | "MISS" | "n/a";
  note?: string;
}

function parseOptions() {
  return parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      pglite: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      url: { type: "string", default: DEFAULT_ADMIN_URL },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
}

async function main(): Promise<void> {
  const values = parseBenchOptions(() => parseOptions().values, USAGE);
  if (!values) return;
  const plan = values.quick ? QUICK : FULL;
  const started = performance.now();

  const fixture = await openFixture({ pglite: values.pglite, adminUrl: values.url });
  // The same fixture with the master key in a SoftHSM2 token, when there is one.
  let hsm: { softhsm: SoftHsm; token: Pkcs11Token; fixture: SecretsFixture } | null = null;
  if (softHsmAvailable()) {
    const softhsm = await createSoftHsm({ tokenLabel: "bench", keyLabels: ["bench-master"] });
    const token = openPkcs11Token({ module: softhsm.module, tokenLabel: softhsm.tokenLabel, keyLabels: ["bench-master"], pin: softhsm.pin });
    hsm = { softhsm, token, fixture: await openFixture({ pglite: values.pglite, adminUrl: values.url, keyring: Keyring.fromProviders(token.keys) }) };
  }
  // Ctrl-C stops the run between two samples, so the finally below still
  // closes the pool and drops the scratch database. A second Ctrl-C kills at once.
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\nbench: ${signal}, stopping after this sample and dropping the scratch database`);
    interrupt.abort(new InterruptedError(signal));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  let results: Map<string, Summary>;
  try {
    results = await measure(fixture, plan, interrupt.signal, hsm);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await fixture.close();
    if (hsm) {
      await hsm.fixture.close();
      hsm.token.close();
      await hsm.softhsm.remove();
    }
  }
  const targets = checkTargets(results, fixture.driver === "postgres");
  const elapsedS = (performance.now() - started) / 1000;

  if (values.json) {
    console.log(
      JSON.stringify(
        {
          bench: "secrets",
          mode: values.quick ? "quick" : "full",
          machine: machineInfo(),
          database: fixture.databaseLabel,
          unit: "ns per op",
          cases: [...results].map(([name, summary]) => ({ id: caseId(name), name, ...summary })),
          targets,
          elapsed_s: Number(elapsedS.toFixed(1)),
        },
        null,
        2,
      ),
    );
  } else {
    printReport(fixture, results, targets, values.quick, elapsedS);
  }
}

async function measure(fixture: SecretsFixture, plan: Plan, signal: AbortSignal, hsm: { token: Pkcs11Token; fixture: SecretsFixture } | null): Promise<Map<string, Summary>> {
  const { service, appId, name, value } = fixture;
  const run: Principal = { type: "run", id: "run_bench", appId };

  // The peer: the same value sealed the way the vault seals it, with an AAD of
  // the same shape and length (`secretAad` for version 1), opened and parsed
  // the way `decodeValue` parses it.
  const key = SecretKey.generate("bench");
  const aad = `switchyard/secret/v1|app|${appId}|${name}|1`;
  const sealed = seal(key, Buffer.from(JSON.stringify(value), "utf8"), aad);
  const bareOpen = () => JSON.parse(open(key, sealed, aad).toString("utf8")) as unknown;
  const resolve = (actor: Principal) => service.resolveSecret(appId, name, actor);

  // Both paths must hand back the value that was set, or the figures mean nothing.
  if (bareOpen() !== value) throw new Error("bench: the bare open did not return the value");
  const hit = await resolve(run);
  if (hit?.value !== value || hit.scope !== "app" || hit.version !== 1) {
    throw new Error(`bench: resolveSecret returned ${JSON.stringify(hit && { scope: hit.scope, version: hit.version })}, not the app's version 1`);
  }

  // In-memory: after the first read, `run` is already audited for this
  // version, so a cached resolve writes nothing — by design.
  const inMemory = await interleave(
    [syncCase(CASES.bare, BATCH, bareOpen), asyncCase(CASES.cached, BATCH, () => resolve(run))],
    { ...plan.inMemory, signal },
  );

  // Uncached: clearCache() drops the sealed rows, the app's workspace and the
  // unwrapped data keys, so each call goes to the database and unwraps again.
  let fresh: Principal = run;
  let runs = 0;
  const uncached = await interleave(
    [
      asyncCase(CASES.uncachedSame, 1, () => resolve(run), () => service.clearCache()),
      asyncCase(
        CASES.uncachedNew,
        1,
        () => resolve(fresh),
        () => {
          service.clearCache();
          // The first read of a run: its audit row is written inside the call.
          fresh = { type: "run", id: `run_bench_${++runs}`, appId };
        },
      ),
      // Not a target: the floor under every query, so the uncached figures
      // can be read as "so many round trips" on any machine.
      asyncCase(CASES.roundTrip, 1, () => fixture.ping()),
      // The same cold read with the master key in the token: the data key is unwrapped inside it.
      ...(hsm ? [asyncCase(CASES.uncachedPkcs11, 1, () => hsm.fixture.service.resolveSecret(hsm.fixture.appId, hsm.fixture.name, { type: "run", id: "run_bench", appId: hsm.fixture.appId }), () => hsm.fixture.service.clearCache())] : []),
    ],
    { ...plan.uncached, signal },
  );
  if (hsm) {
    const hit = await hsm.fixture.service.resolveSecret(hsm.fixture.appId, hsm.fixture.name, run);
    if (hit?.value !== hsm.fixture.value) throw new Error("bench: the PKCS#11 fixture did not return its value");
  }
  return new Map([...inMemory, ...uncached, ...(hsm ? await unwraps(hsm.token, plan, signal) : [])]);
}

/** One data key unwrap under each provider, alone: what a cold read adds per data key. */
async function unwraps(token: Pkcs11Token, plan: Plan, signal: AbortSignal): Promise<Map<string, Summary>> {
  const environment = Keyring.fromKeys([SecretKey.generate("k1")]);
  const pkcs11 = Keyring.fromProviders(token.keys);
  const dataKey = generateDataKey("dk_bench");
  const aad = "switchyard/data-key/v1|dk_bench|app|app_bench";
  const underEnvironment = await wrapDataKey(environment, dataKey, aad);
  const underPkcs11 = await wrapDataKey(pkcs11, dataKey, aad);
  return interleave(
    [
      asyncCase(CASES.unwrapEnvironment, BATCH, () => unwrapDataKey(environment, "dk_bench", underEnvironment, aad)),
      asyncCase(CASES.unwrapPkcs11, BATCH, () => unwrapDataKey(pkcs11, "dk_bench", underPkcs11, aad)),
    ],
    { ...plan.inMemory, rounds: Math.min(plan.inMemory.rounds, 500), signal },
  );
}

function checkTargets(results: Map<string, Summary>, onPostgres: boolean): TargetCheck[] {
  const get = (name: string) => {
    const summary = results.get(name);
    if (!summary) throw new Error(`bench: no results for ${name}`);
    return summary;
  };
  const bare = get(CASES.bare);
  const cached = get(CASES.cached);
  const ratio = cached.p50 / bare.p50;
  const checks: TargetCheck[] = [
    {
      what: "cached resolve p50 / bare open p50",
      measured: `${ratio.toFixed(2)}×`,
      target: `≤ ${CACHED_RATIO_TARGET}×`,
      verdict: ratio <= CACHED_RATIO_TARGET ? "PASS" : "MISS",
      note: `p99 ratio ${(cached.p99 / bare.p99).toFixed(2)}×`,
    },
  ];
  for (const name of [CASES.uncachedSame, CASES.uncachedNew]) {
    const { p50 } = get(name);
    checks.push({
      what: `${name} p50`,
      measured: formatNs(p50),
      target: "< 1 ms on PostgreSQL",
      verdict: !onPostgres ? "n/a" : p50 < UNCACHED_P50_TARGET_NS ? "PASS" : "MISS",
      ...(onPostgres ? {} : { note: "the target is for PostgreSQL; this run used PGlite" }),
    });
  }
  return checks;
}

function printReport(fixture: SecretsFixture, results: Map<string, Summary>, targets: TargetCheck[], quick: boolean, elapsedS: number): void {
  const machine = machineInfo();
  console.log(`bench/secrets — ${quick ? "QUICK smoke run (few samples, figures are rough)" : "full run"}`);
  console.log(`node ${machine.node} · ${machine.platform} · ${machine.cpu} · ${machine.cores} cores · ${machine.memoryGiB} GiB`);
  console.log(`database: ${fixture.databaseLabel}`);
  console.log(`secret: ${fixture.name}, a ${fixture.value.length}-character string (${Buffer.byteLength(JSON.stringify(fixture.value))} bytes of JSON)`);
  console.log("");

  console.log(renderSummaryTable(results));
  console.log("");
  console.log(`p50/p99 are per call. "batches of ${BATCH}": each sample is one batch's time / ${BATCH}, so p99 is over`);
  console.log("batches (a single slow call is spread over its batch). ops/s = calls / total time of one caller.");
  console.log("Peer and ours alternate round by round; warm-up rounds are discarded.");
  const coldEnvironment = results.get(CASES.uncachedSame);
  const coldPkcs11 = results.get(CASES.uncachedPkcs11);
  if (coldEnvironment && coldPkcs11) {
    console.log(
      `Cold read, master key in the PKCS#11 token vs the environment keyring: ${formatNs(coldPkcs11.p50)} vs ${formatNs(coldEnvironment.p50)} p50 ` +
        `(${(coldPkcs11.p50 / coldEnvironment.p50).toFixed(2)}×); a warm read never reaches the token.`,
    );
  } else {
    console.log("PKCS#11 cases skipped: SoftHSM2 is not installed (apt-get install softhsm2).");
  }
  console.log("");

  console.log(
    renderTable(
      ["target", "measured", "target", "verdict", "note"],
      targets.map((t) => [t.what, t.measured, t.target, t.verdict, t.note ?? ""]),
      [1],
    ),
  );
  console.log("");
  console.log(`done in ${elapsedS.toFixed(1)} s`);
}

main().catch((error: unknown) => {
  if (error instanceof InterruptedError) {
    console.error(`bench/secrets: ${error.message}; nothing measured is printed`);
    process.exitCode = 130;
    return;
  }
  console.error("bench/secrets failed:", error);
  process.exitCode = 1;
});
