/**
 * bench/inbound: in one run, on one PostgreSQL,
 *  1. signed generic inbound webhooks accepted per second (each an outbox row,
 *     durable) against a bare hono route doing the same single-row insert
 *     (target: at least 0.8×);
 *  2. `email.send` throughput through a script against bare nodemailer with
 *     the same pool settings, to a local SMTP sink (target: at least 0.9×).
 * Rounds alternate ours and the peer; the median of each is compared.
 *
 * @example
 * pnpm --filter @switchyard/bench bench:inbound           # full, under two minutes
 * pnpm --filter @switchyard/bench bench:inbound --quick   # smoke run
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { createApp, silentLogger } from "@switchyard/core";
import { parseKeyring } from "@switchyard/crypto";
import { connect, migrate } from "@switchyard/db";
import { startSmtpSink } from "@switchyard/email/testing";
import { createServices } from "@switchyard/server";
import { machineInfo } from "../support/machine.ts";
import { parseBenchOptions } from "../support/options.ts";
import { createScratchDatabase } from "../support/scratch-postgres.ts";
import { renderTable } from "../support/table.ts";
import { bareNodemailer, POOL, scriptSender } from "./send.ts";
import { drive, startWebhookEndpoints } from "./webhooks.ts";

const DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const USAGE = `usage: bench:inbound [--quick] [--json] [--url postgres://user@host:port/db]`;
const WEBHOOK_TARGET = 0.8;
const SEND_TARGET = 0.9;

// Nine rounds: a single round of either side swings ±10% on a shared
// two-core machine, and with five one slow spell could decide the verdict.
const plan = (quick: boolean) =>
  quick
    ? { rounds: 2, webhooks: 300, webhookConcurrency: 16, sends: 200, sendsInFlight: 10 }
    : { rounds: 9, webhooks: 3_000, webhookConcurrency: 16, sends: 2_000, sendsInFlight: 10 };

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/**
 * Runs `ours` and `peer` alternately, `rounds` times each, after two untimed
 * warm-up rounds of each (JIT, connection pools and prepared statements on
 * both sides: a first round runs at half speed or less).
 */
async function alternate(rounds: number, ours: () => Promise<number>, peer: () => Promise<number>) {
  for (let i = 0; i < 2; i++) {
    await ours();
    await peer();
  }
  const o: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < rounds; i++) {
    o.push(await ours());
    p.push(await peer());
  }
  return { ours: median(o), peer: median(p), oursAll: o, peerAll: p };
}

async function main() {
  const options = parseBenchOptions(
    () => parseArgs({ options: { quick: { type: "boolean" }, json: { type: "boolean" }, url: { type: "string" }, help: { type: "boolean" } } }).values,
    USAGE,
  );
  if (!options) return;
  const p = plan(options.quick ?? false);
  const scratch = await createScratchDatabase(options.url ?? DEFAULT_ADMIN_URL, "sy_bench_inbound");
  const database = await connect({ url: scratch.url, poolSize: 10 });
  const sink = await startSmtpSink({ keep: false });
  try {
    await migrate(database.db);
    const keyring = parseKeyring({ masterKey: randomBytes(32).toString("base64") });
    if (!keyring.ok) throw new Error(keyring.error.message);
    const services = createServices({ database, keyring: keyring.value, logger: silentLogger, worker: false, settings: { smtpUrl: sink.url } });
    await services.start();
    const endpoints = await startWebhookEndpoints(database, services);
    const webhooks = await alternate(
      p.rounds,
      () => drive(endpoints.ours, p.webhooks, p.webhookConcurrency),
      () => drive(endpoints.bare, p.webhooks, p.webhookConcurrency),
    );
    await endpoints.close();

    const app = await createApp(database.db, { type: "system", id: "bench" }, { name: "bench-send" });
    const ours = await scriptSender(services, app.id);
    const bare = await bareNodemailer(sink.port);
    const sends = await alternate(
      p.rounds,
      () => ours.send(p.sends, p.sendsInFlight),
      () => bare.send(p.sends, p.sendsInFlight),
    );
    bare.close();
    await services.stop();

    const webhookRatio = webhooks.ours / webhooks.peer;
    const sendRatio = sends.ours / sends.peer;
    const verdict = (ratio: number, target: number) => `${ratio.toFixed(2)}× ${ratio >= target ? "PASS" : "MISS"} (target ≥ ${target}×)`;
    if (options.json) {
      console.log(JSON.stringify({ machine: machineInfo(), postgres: scratch.serverVersion, plan: p, webhooks, sends, webhookRatio, sendRatio }, null, 2));
      return;
    }
    const m = machineInfo();
    console.log(`bench:inbound — ${m.cpu} ×${m.cores}, Node ${m.node}, PostgreSQL ${scratch.serverVersion}; median of ${p.rounds} alternating rounds`);
    console.log(
      renderTable(
        ["case", "per second (median)", "rounds"],
        [
          [`signed generic webhook → outbox (ours, ${p.webhookConcurrency} in flight)`, webhooks.ours.toFixed(0), webhooks.oursAll.map((v) => v.toFixed(0)).join(" ")],
          ["bare hono route, one outbox insert (peer)", webhooks.peer.toFixed(0), webhooks.peerAll.map((v) => v.toFixed(0)).join(" ")],
          [`email.send through a script (ours, ${p.sendsInFlight} in flight, pool ${POOL.maxConnections})`, sends.ours.toFixed(0), sends.oursAll.map((v) => v.toFixed(0)).join(" ")],
          ["bare nodemailer, same pool (peer)", sends.peer.toFixed(0), sends.peerAll.map((v) => v.toFixed(0)).join(" ")],
        ],
        [1],
      ),
    );
    console.log(`\nwebhooks: ours / bare = ${verdict(webhookRatio, WEBHOOK_TARGET)}`);
    console.log(`email.send: ours / bare nodemailer = ${verdict(sendRatio, SEND_TARGET)}`);
  } finally {
    await sink.close();
    await database.close();
    await scratch.drop();
  }
}

await main();
