/**
 * `email.send` throughput through a script (isolate → host → checks → send
 * log → pooled nodemailer) against bare nodemailer with the same pool
 * settings, both sending to one local SMTP sink (smtp-server) with the same
 * number of sends in flight.
 */
import nodemailer from "nodemailer";
import { compileScript, type CompiledScript } from "@switchyard/executor";
import type { Services } from "@switchyard/server";

export const POOL = { maxConnections: 5, maxMessages: 100 } as const;
const MESSAGE = { from: "bench@switchyard.test", to: "sink@example.com", subject: "bench message", text: "a short message body, as most transactional mail is" };

export async function bareNodemailer(smtpPort: number) {
  const transport = nodemailer.createTransport({ pool: true, host: "127.0.0.1", port: smtpPort, secure: false, ignoreTLS: true, ...POOL });
  return {
    /** Sends `n` messages with `inFlight` at once; answers messages per second. */
    async send(n: number, inFlight: number): Promise<number> {
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next++ < n) {
            const info = await transport.sendMail(MESSAGE);
            if (info.accepted.length !== 1) throw new Error("bench: the sink refused a bare send");
          }
        }),
      );
      return (n / (performance.now() - started)) * 1000;
    },
    close: () => transport.close(),
  };
}

export async function scriptSender(services: Services, appId: string) {
  const source = `export default async (event) => {
    const { n, inFlight } = event.payload;
    let next = 0;
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next++ < n) {
        const sent = await email.send(${JSON.stringify(MESSAGE)});
        if (sent.accepted.length !== 1) throw new Error("the sink refused a send");
      }
    }));
    return n;
  };`;
  const compiled = await compileScript({ source, language: "js" });
  if (!compiled.ok) throw new Error(`bench: ${compiled.error.message}`);
  const script: CompiledScript = {
    id: "scr_bench_send",
    appId,
    version: 1,
    code: compiled.value.code,
    sourceMap: compiled.value.sourceMap,
    freshContext: false,
    limits: { memoryMb: 128, cpuMs: 60_000, wallMs: 300_000 },
  };
  let runs = 0;
  return {
    async send(n: number, inFlight: number): Promise<number> {
      runs += 1;
      const started = performance.now();
      const outcome = await services.executor.run({
        script,
        event: { kind: "manual", payload: { n, inFlight } },
        ctx: { app: { id: appId, name: "bench" }, trigger: null, run: { id: `run_bench_${runs}`, attempt: 1, event_id: `evt_bench_${runs}` } },
      });
      if (outcome.status !== "ok") throw new Error(`bench: the sending script failed: ${outcome.error?.message}`);
      return (n / (performance.now() - started)) * 1000;
    },
  };
}
