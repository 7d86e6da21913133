import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEgressPolicy } from "../policy.ts";
import { parseEgressRules } from "../rules.ts";
import { isAllowedHost, isBoundHost } from "./allowed-hosts.ts";
import { createFetchClient } from "./client.ts";
import { getRequest, startServer, type TestServer } from "./test-servers.ts";


describe("an app's allowed hosts", () => {
  it("match names as written, subdomains, ports, and addresses only when the URL holds an address", () => {
    const allowed = parseEgressRules("api.example.com, *.corp.example:8443, 10.0.0.0/8");
    const yes = ["https://api.example.com/v1", "https://API.example.com./v1", "https://a.b.corp.example:8443/", "http://10.1.2.3/"];
    const no = ["https://evil.example.com/", "https://corp.example:8443/", "https://a.corp.example/", "http://internal.test/", "http://11.0.0.1/"];
    for (const url of yes) expect(isAllowedHost(allowed, new URL(url)), url).toBe(true);
    for (const url of no) expect(isAllowedHost(allowed, new URL(url)), url).toBe(false);
    expect(isAllowedHost([], new URL("https://api.example.com/"))).toBe(false);
  });

  describe("in a fetch", () => {
    let listed: TestServer;
    let unlisted: TestServer;
    const client = createFetchClient({ policy: createEgressPolicy({ allow: ["127.0.0.1"] }) });
    beforeAll(async () => {
      unlisted = await startServer((_req, res) => res.end("unlisted"));
      listed = await startServer((req, res) => {
        if (req.url === "/hop") res.writeHead(302, { location: `${unlisted.origin}/` });
        res.end("listed");
      });
    });
    afterAll(async () => {
      await client.close();
      await listed?.close();
      await unlisted?.close();
    });

    it("narrow what the operator opened, at every redirect hop, connecting nowhere they leave out", async () => {
      const allowedHosts = parseEgressRules(`127.0.0.1:${listed.port}`);
      expect((await client.fetch(getRequest(listed.origin), { allowedHosts })).status).toBe(200);
      expect(await client.fetch(getRequest(unlisted.origin), { allowedHosts }).catch((e: unknown) => e)).toMatchObject({ code: "egress_denied" });
      expect(await client.fetch(getRequest(`${listed.origin}/hop`), { allowedHosts }).catch((e: unknown) => e)).toMatchObject({ code: "egress_denied" });
      expect(unlisted.connections()).toBe(0);
    });

    it("never widen it: an internal address the operator has not opened stays refused when the app lists it", async () => {
      const narrow = createFetchClient({ policy: createEgressPolicy() });
      try {
        const error = await narrow.fetch(getRequest(listed.origin), { allowedHosts: parseEgressRules("127.0.0.1") }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: "egress_denied" });
      } finally {
        await narrow.close();
      }
    });
  });

  it("let a host-bound secret travel over plain http only where the binding names the port", () => {
    const rules = parseEgressRules("api.example.com, *.example.org, 10.0.0.1, api.example.net:80, 127.0.0.1:8080");
    const bound = (url: string) => isBoundHost(rules, new URL(url));
    expect([bound("https://api.example.com/"), bound("https://x.example.org/"), bound("https://10.0.0.1/"), bound("http://api.example.net/"), bound("http://127.0.0.1:8080/")]).toEqual([true, true, true, true, true]);
    expect([bound("http://api.example.com/"), bound("http://x.example.org/"), bound("http://10.0.0.1/"), bound("http://127.0.0.1:8081/"), bound("https://api.example.net/")]).toEqual([false, false, false, false, false]);
  });
});
