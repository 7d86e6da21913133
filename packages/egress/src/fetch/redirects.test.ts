import type http from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { createEgressPolicy } from "../policy.ts";
import { createFetchClient } from "./client.ts";
import type { FetchError } from "./errors.ts";
import { bodyOf, bytes, startServer, text, type TestServer } from "./test-servers.ts";
import type { HostFetchRequest } from "./types.ts";

const client = createFetchClient({ policy: createEgressPolicy({ allow: ["127.0.0.1"] }) });

interface Seen {
  method: string;
  url: string;
  body: string;
  authorization: string | undefined;
  cookie: string | undefined;
  contentType: string | undefined;
}

/** A server that records what reached it; `/to/STATUS?location=URL` redirects, anything else answers what it saw. */
async function recorder(): Promise<TestServer & { seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = await startServer(async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const body = (await bodyOf(req)).toString();
    seen.push({ method: req.method ?? "", url: req.url ?? "", body, authorization: req.headers.authorization, cookie: req.headers.cookie, contentType: req.headers["content-type"] });
    const redirect = /^\/to\/(\d{3})\?location=(.*)$/.exec(req.url ?? "");
    if (redirect) {
      res.writeHead(Number(redirect[1]), { location: decodeURIComponent(redirect[2] as string) });
      res.end("moved");
      return;
    }
    res.end(`${req.method} ${req.url}`);
  });
  return Object.assign(server, { seen });
}

const servers: TestServer[] = [];
afterAll(async () => {
  await client.close();
  await Promise.all(servers.map((s) => s.close()));
});
async function pair() {
  const a = await recorder();
  const b = await recorder();
  servers.push(a, b);
  return { a, b };
}

const to = (server: TestServer, status: number, location: string) => `${server.origin}/to/${status}?location=${encodeURIComponent(location)}`;
const post = (url: string, redirect: HostFetchRequest["redirect"] = "follow"): HostFetchRequest => ({
  method: "POST",
  url,
  headers: [["content-type", "application/json"], ["authorization", "Bearer s3cret"], ["cookie", "session=1"]],
  body: bytes('{"a":1}'),
  redirect,
});

describe("fetch client redirects", () => {
  it("follows 301 and 302 after a POST as a GET without the body or its headers", async () => {
    const { a } = await pair();
    for (const status of [301, 302]) {
      const response = await client.fetch(post(to(a, status, "/done")));
      expect(response).toMatchObject({ status: 200, redirected: true, url: `${a.origin}/done` });
      expect(a.seen.at(-1)).toMatchObject({ method: "GET", url: "/done", body: "", contentType: undefined, authorization: "Bearer s3cret" });
    }
  });

  it("follows 307 and 308 with the same method and body", async () => {
    const { a } = await pair();
    for (const status of [307, 308]) {
      await client.fetch(post(to(a, status, "/done")));
      expect(a.seen.at(-1)).toMatchObject({ method: "POST", body: '{"a":1}', contentType: "application/json" });
    }
  });

  it("turns a 303 after a PUT into a GET", async () => {
    const { a } = await pair();
    await client.fetch({ ...post(to(a, 303, "/done")), method: "PUT" });
    expect(a.seen.at(-1)).toMatchObject({ method: "GET", body: "" });
  });

  it("drops Authorization and Cookie on a hop to another origin, and keeps them on the same origin", async () => {
    const { a, b } = await pair();
    const response = await client.fetch(post(to(a, 307, to(a, 307, `${b.origin}/elsewhere`))));
    expect(text(response.body)).toBe("POST /elsewhere");
    expect(a.seen.map((s) => s.authorization)).toEqual(["Bearer s3cret", "Bearer s3cret"]);
    expect(b.seen).toEqual([expect.objectContaining({ url: "/elsewhere", authorization: undefined, cookie: undefined, body: '{"a":1}' })]);
  });

  it('delivers the redirect itself under redirect: "manual", following nothing', async () => {
    const { a, b } = await pair();
    const response = await client.fetch(post(to(a, 302, `${b.origin}/x`), "manual"));
    expect(response).toMatchObject({ status: 302, redirected: false });
    expect(response.headers).toContainEqual(["location", `${b.origin}/x`]);
    expect(text(response.body)).toBe("moved");
    expect(b.connections()).toBe(0);
  });

  it('fails with redirect_error under redirect: "error", following nothing', async () => {
    const { a, b } = await pair();
    const error = await client.fetch(post(to(a, 302, `${b.origin}/x`), "error")).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "redirect_error" });
    expect(b.connections()).toBe(0);
  });

  it("follows 20 redirects and fails with egress_redirect_limit on the 21st", async () => {
    const { a } = await pair();
    const chain = (n: number) => {
      let url = `${a.origin}/end`;
      for (let i = 0; i < n; i++) url = to(a, 302, url);
      return url;
    };
    expect(await client.fetch(post(chain(20)))).toMatchObject({ status: 200, url: `${a.origin}/end` });
    const error = (await client.fetch(post(chain(21))).catch((e: unknown) => e)) as FetchError;
    expect(error).toMatchObject({ code: "egress_redirect_limit", message: `fetch to ${a.origin} after 20 redirects failed: more than 20 redirects` });
  });

  it("refuses a redirect to a file: URL with egress_denied", async () => {
    const { a } = await pair();
    expect(await client.fetch(post(to(a, 302, "file:///etc/passwd"))).catch((e: unknown) => e)).toMatchObject({ code: "egress_denied" });
  });

  it("delivers a redirect status without a Location as it is", async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(302);
      res.end("no location");
    });
    servers.push(server);
    expect(await client.fetch(post(server.origin))).toMatchObject({ status: 302, redirected: false });
  });
});
