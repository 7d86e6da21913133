import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { listenWithBodyLimits, type listen, rawPost, type RawAnswer } from "./support/raw-http.ts";

const KIB = 1024;
const BUDGET = 256 * KIB;
const DEADLINE_MS = 1_500;
const UNKNOWN = `trg_${"5".repeat(24)}`;
const json = { "Content-Type": "application/json" };

/**
 * Whoever does not hold a signed trigger's secret must not learn from its
 * answers whether its id exists: every way a body can fail to be read
 * before the signature is checked answers as an unknown id does.
 */
describeEachDriver("signed public triggers and unknown ids, answered alike before the signature", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let server: Awaited<ReturnType<typeof listen>>;
  /** The signed triggers' public paths, with an unknown id's path on the same route. */
  const signed: { what: string; path: string; unknown: string }[] = [];
  let openHook: string;

  beforeAll(async () => {
    built = await managerFor(ctx.database);
    const admin = client(built.app, built.adminToken!);
    const appId = (await admin.post("/api/v1/admin/apps", { name: "probed" })).json.id;
    const scriptId = (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name: "noop", source: "export default () => 1" })).json.id;
    const create = async (kind: string, name: string, config: Record<string, unknown>) => {
      const res = await admin.post(`/api/v1/admin/apps/${appId}/triggers`, { kind, name, script_id: scriptId, config });
      expect(res.status).toBe(201);
      return new URL(res.json.inbound_url ?? res.json.url, "http://x").pathname;
    };
    signed.push(
      { what: "signed hook", path: await create("http", "hook", { signing: true, max_body_bytes: 2 * KIB }), unknown: `/api/v1/hooks/${UNKNOWN}` },
      { what: "signed email", path: await create("email", "mail", { provider: "generic", signing: true, max_body_bytes: KIB }), unknown: `/api/v1/email-inbound/${UNKNOWN}` },
      { what: "mailgun email", path: await create("email", "gun", { provider: "mailgun", mailgun_signing_key: "key-0123456789", max_body_bytes: KIB }), unknown: `/api/v1/email-inbound/${UNKNOWN}` },
    );
    openHook = await create("http", "open", { max_body_bytes: BUDGET });
    server = await listenWithBodyLimits(ctx.database, built, BUDGET, DEADLINE_MS);
  });
  afterAll(async () => {
    await server?.close();
    await built?.services.stop();
  });

  /** Posts `send` to a path and answers status and JSON. */
  const answerOf = async (path: string, send: (post: ReturnType<typeof rawPost>) => void, length?: number): Promise<[number, unknown]> => {
    const post = rawPost(server.port, path, { headers: json, ...(length === undefined ? {} : { length }) });
    try {
      send(post);
      const answer: RawAnswer = await post.answer;
      return [answer.status, answer.json];
    } finally {
      post.destroy();
    }
  };
  /** The same request to a signed trigger and to an unknown id, at once; both answers. */
  const both = (path: string, unknown: string, send: (post: ReturnType<typeof rawPost>) => void, length?: number) =>
    Promise.all([answerOf(path, send, length), answerOf(unknown, send, length)]);
  const unauthorized = [401, { error: { code: "unauthorized", message: "unknown trigger or invalid signature" } }];

  it("answers a declared body over the trigger's cap as an unknown id does (401, not 413)", async () => {
    for (const { what, path, unknown } of signed) {
      const [known, none] = await both(path, unknown, (p) => p.write(Buffer.alloc(4 * KIB, 97)), 4 * KIB);
      expect([what, known]).toEqual([what, none]);
      expect(known).toEqual(unauthorized);
    }
  });

  it("answers a chunked body past the trigger's cap as an unknown id does", async () => {
    for (const { what, path, unknown } of signed) {
      const [known, none] = await both(path, unknown, (p) => {
        p.write(Buffer.alloc(4 * KIB, 97));
        p.end();
      });
      expect([what, known]).toEqual([what, none]);
      expect(known).toEqual(unauthorized);
    }
  });

  it("answers a body that never arrives whole as an unknown id does, at the deadline (401, not 408)", async () => {
    const answers = await Promise.all(signed.map(({ path, unknown }) => both(path, unknown, (p) => p.write("{"), 100)));
    for (const [i, [known, none]] of answers.entries()) {
      expect([signed[i]!.what, known]).toEqual([signed[i]!.what, none]);
      expect(known).toEqual(unauthorized);
    }
  });

  it("answers a body the spent budget cannot take as an unknown id does (401, not 503)", async () => {
    // An unsigned hook (its URL is its credential) holds all but 100 bytes of the budget, stalled.
    const hog = rawPost(server.port, openHook, { length: BUDGET, headers: json });
    try {
      hog.write(Buffer.alloc(BUDGET - 100, 32));
      await new Promise((r) => setTimeout(r, 300));
      for (const { what, path, unknown } of signed) {
        const [known, none] = await both(path, unknown, (p) => p.write(Buffer.alloc(1000, 32)), 1000);
        expect([what, known]).toEqual([what, none]);
        expect(known).toEqual(unauthorized);
      }
      // The unsigned hook itself says why.
      expect((await answerOf(openHook, (p) => p.write(Buffer.alloc(10 * KIB, 32)), 10 * KIB))[0]).toBe(503);
    } finally {
      hog.destroy();
    }
  });
});
