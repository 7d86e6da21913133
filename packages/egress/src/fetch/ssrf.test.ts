import { scripted } from "../scripted-resolver.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEgressPolicy } from "../policy.ts";
import { createFetchClient } from "./client.ts";
import { countClientConnections, getRequest, rejection, startServer, type TestServer } from "./test-servers.ts";




describe("fetch under the default egress policy (SSRF corpus)", () => {
  let v4: TestServer;
  let v6: TestServer;
  beforeAll(async () => {
    // One port, listening on both loopbacks: every spelling below that leads home would land here.
    v4 = await startServer((_req, res) => res.end("internal"));
    v6 = await startServer((_req, res) => res.end("internal"), { host: "::1", port: v4.port });
  });
  afterAll(async () => {
    await v4?.close();
    await v6?.close();
  });

  it("refuses every spelling of an internal destination with egress_denied, connecting nowhere", async () => {
    const p = v4.port;
    const corpus = [
      `http://127.0.0.1:${p}/`,
      `http://127.1:${p}/`,
      `http://2130706433:${p}/`,
      `http://0x7f000001:${p}/`,
      `http://017700000001:${p}/`,
      `http://[::1]:${p}/`,
      `http://[::ffff:127.0.0.1]:${p}/`,
      `http://[::ffff:7f00:1]:${p}/`,
      `http://[::127.0.0.1]:${p}/`,
      `http://0.0.0.0:${p}/`,
      `http://169.254.169.254/latest/meta-data/`,
      `http://10.0.0.1/`,
      `http://192.168.1.1/`,
      `http://100.64.0.1/`,
      `https://[fe80::1]/`,
      `http://internal.test:${p}/`,
      `http://localhost:${p}/`,
      `file:///etc/passwd`,
      `ftp://127.0.0.1:${p}/`,
    ];
    const resolver = scripted({ "internal.test": [["127.0.0.1"]], localhost: [["::1", "127.0.0.1"]] });
    const client = createFetchClient({ policy: createEgressPolicy({ resolver }) });
    const sockets = countClientConnections();
    try {
      for (const url of corpus) expect((await rejection(client.fetch(getRequest(url)))).code, url).toBe("egress_denied");
    } finally {
      sockets.stop();
      await client.close();
    }
    expect(sockets.count()).toBe(0);
    expect(v4.connections() + v6.connections()).toBe(0);
    expect(resolver.calls).toEqual(["internal.test", "localhost"]);
  });

  it("tells the script only what it wrote: a name's internal address stays out of the message", async () => {
    const client = createFetchClient({ policy: createEgressPolicy({ resolver: scripted({ "internal.test": [["10.1.2.3"]] }) }) });
    try {
      const error = await rejection(client.fetch(getRequest("http://internal.test/")));
      expect(error.message).toBe("fetch to http://internal.test was refused: the egress policy does not allow that destination");
      // The operator's log still learns why, from the cause.
      expect(String((error.cause as Error).message)).toMatch(/10\.1\.2\.3/);
    } finally {
      await client.close();
    }
  });

  it("connects to the address it checked: a name that turns internal on its next lookup is refused then, with nothing opened to it", async () => {
    // 127.0.0.1:PORT stands in for a public address (opened for the test); 127.0.0.2 on the same port is the internal one.
    const standIn = await startServer((_req, res) => {
      res.setHeader("connection", "close");
      res.end("public");
    });
    const internal = await startServer((_req, res) => res.end("internal"), { host: "127.0.0.2", port: standIn.port });
    const resolver = scripted({ "rebind.test": [["127.0.0.1"], ["127.0.0.2"]] });
    const client = createFetchClient({ policy: createEgressPolicy({ allow: [`127.0.0.1:${standIn.port}`], resolver }) });
    try {
      const url = `http://rebind.test:${standIn.port}/`;
      expect(new TextDecoder().decode((await client.fetch(getRequest(url))).body)).toBe("public");
      expect((await rejection(client.fetch(getRequest(url)))).code).toBe("egress_denied");
      expect(resolver.calls).toEqual(["rebind.test", "rebind.test"]);
      expect(internal.connections()).toBe(0);
    } finally {
      await client.close();
      await standIn.close();
      await internal.close();
    }
  });

  it("checks every redirect hop again: an opened host redirecting to a loopback port that is not opened is refused", async () => {
    const target = await startServer((_req, res) => res.end("internal"));
    const opened = await startServer((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${target.port}/admin` });
      res.end();
    });
    const client = createFetchClient({ policy: createEgressPolicy({ allow: [`127.0.0.1:${opened.port}`] }) });
    const sockets = countClientConnections();
    try {
      const error = await rejection(client.fetch(getRequest(`${opened.origin}/start`)));
      expect(error.code).toBe("egress_denied");
      expect(error.message).toBe(`fetch to ${opened.origin} after 1 redirect was refused: the egress policy does not allow that destination`);
      expect(target.connections()).toBe(0);
      expect(sockets.count()).toBe(1);
    } finally {
      sockets.stop();
      await client.close();
      await target.close();
      await opened.close();
    }
  });
});
