import net from "node:net";
import { scripted } from "./scripted-resolver.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectChecked } from "./connect.ts";
import { EgressError } from "./errors.ts";
import { createEgressPolicy } from "./policy.ts";


/** A real listening socket that counts the connections it accepts. */
async function listener() {
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    // The client hangs up whenever it likes.
    socket.on("error", () => {});
    socket.end("SSH-2.0-OpenSSH_8.9 INTERNAL-BANNER\r\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, accepted: () => accepted, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const connectWith = (lookup: net.LookupFunction, host: string, port: number) =>
  new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ host, port, lookup }, () => resolve(socket));
    socket.once("error", reject);
  });

describe("egress policy", () => {
  let server: Awaited<ReturnType<typeof listener>>;
  beforeAll(async () => {
    server = await listener();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("refuses internal addresses by default in every spelling, and lets public ones through", () => {
    const policy = createEgressPolicy();
    for (const address of ["127.0.0.1", "2130706433", "0x7f000001", "017700000001", "127.1", "::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "::127.0.0.1", "10.0.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::", "fe80::1", "fc00::1", "224.0.0.1", "ff02::1", "255.255.255.255", "64:ff9b::7f00:1", "2002:a00:1::1"]) {
      const decision = policy.check("api.example.com", address, 443);
      expect(decision, address).toMatchObject({ ok: false, code: "egress_denied" });
    }
    expect(policy.check("api.example.com", "169.254.169.254", 80)).toMatchObject({ reason: expect.stringMatching(/cloud metadata address/) });
    expect(policy.check("api.example.com", "64:ff9b::a00:1", 80)).toMatchObject({ reason: expect.stringMatching(/leads to 10\.0\.0\.1/) });
    expect(policy.check("api.example.com", "93.184.215.14", 443)).toEqual({ ok: true });
    expect(policy.check("api.example.com", "64:ff9b::808:808", 443)).toEqual({ ok: true });
  });

  it("opens what the operator allows, by address, network, host or domain, and by port when one is given", () => {
    const policy = createEgressPolicy({ allow: ["10.1.0.0/16", "127.0.0.1:2525", "mail.internal", "*.corp.example:587"] });
    expect(policy.check("x.example", "10.1.2.3", 80).ok).toBe(true);
    expect(policy.check("x.example", "::ffff:10.1.2.3", 80).ok).toBe(true);
    expect(policy.check("x.example", "10.2.0.1", 80).ok).toBe(false);
    expect(policy.check("localhost", "127.0.0.1", 2525).ok).toBe(true);
    expect(policy.check("localhost", "127.0.0.1", 22).ok).toBe(false);
    expect(policy.check("localhost", "127.0.0.1", null).ok).toBe(false);
    expect(policy.check("MAIL.internal.", "10.9.9.9", 25).ok).toBe(true);
    expect(policy.check("smtp.corp.example", "192.168.0.5", 587).ok).toBe(true);
    expect(policy.check("smtp.corp.example", "192.168.0.5", 25).ok).toBe(false);
    expect(policy.check("corp.example", "192.168.0.5", 587).ok).toBe(false);
  });

  it("lets deny beat allow, for public and internal destinations alike", () => {
    const policy = createEgressPolicy({ allow: ["10.0.0.0/8", "*.corp.example"], deny: ["10.0.0.5", "secret.corp.example", "93.184.0.0/16", "*.blocked.example:443"] });
    expect(policy.check("x.example", "10.0.0.5", 80)).toMatchObject({ ok: false, reason: expect.stringMatching(/closed by the operator's rule "10\.0\.0\.5"/) });
    expect(policy.check("x.example", "::ffff:10.0.0.5", 80).ok).toBe(false);
    expect(policy.check("secret.corp.example", "10.0.0.6", 80).ok).toBe(false);
    expect(policy.check("www.example", "93.184.215.14", 443).ok).toBe(false);
    expect(policy.check("a.blocked.example", "8.8.8.8", 443).ok).toBe(false);
    // A deny rule with a port closes when the port is not known.
    expect(policy.check("a.blocked.example", "8.8.8.8", null).ok).toBe(false);
    expect(policy.check("a.blocked.example", "8.8.8.8", 80).ok).toBe(true);
  });

  it("resolves a name with every address checked, answering only the allowed ones", async () => {
    const resolver = scripted({ "mixed.example": [["93.184.215.14", "127.0.0.1", "2606:4700::1", "::1"]], "inside.example": [["127.0.0.1", "10.0.0.1"]] });
    const policy = createEgressPolicy({ resolver });
    expect(await policy.resolve("mixed.example", 443)).toEqual({ ok: true, value: [{ address: "93.184.215.14", family: 4 }, { address: "2606:4700::1", family: 6 }] });
    const refused = await policy.resolve("inside.example", 443);
    expect(refused).toMatchObject({ ok: false, error: { code: "egress_denied", reason: expect.stringMatching(/inside\.example \(127\.0\.0\.1\) is a loopback address/) } });
    expect(await policy.resolve("nowhere.example", 443)).toMatchObject({ ok: false, error: { code: "dns_failed" } });
    // A literal is its own answer: the resolver is never asked.
    expect(await policy.resolve("0x7f.1", 80)).toMatchObject({ ok: false, error: { code: "egress_denied" } });
    expect(resolver.calls).toEqual(["mixed.example", "inside.example", "nowhere.example"]);
  });

  it("never connects to a name that resolves to 127.0.0.1 through its lookup", async () => {
    const policy = createEgressPolicy({ resolver: scripted({ "rebind.example": [["127.0.0.1"]] }) });
    const before = server.accepted();
    const error = await connectWith(policy.lookupFor(server.port), "rebind.example", server.port).then(
      (socket) => socket.destroy(),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EgressError);
    expect(error).toMatchObject({ code: "egress_denied" });
    await expect(connectChecked(policy, { host: "rebind.example", port: server.port, timeoutMs: 2000 })).rejects.toMatchObject({ code: "egress_denied" });
    // Every spelling of the literal, too: net.connect skips lookup for some of them.
    for (const host of ["127.0.0.1", "2130706433", "0x7f000001", "017700000001", "127.1", "::ffff:127.0.0.1"]) {
      await expect(connectChecked(policy, { host, port: server.port, timeoutMs: 2000 }), host).rejects.toMatchObject({ code: "egress_denied" });
    }
    expect(server.accepted()).toBe(before);
  });

  it("checks every lookup: a name that answers public first and private next is refused the second time", async () => {
    const resolver = scripted({ "flip.example": [["93.184.215.14"], ["127.0.0.1"]] });
    const policy = createEgressPolicy({ resolver });
    const lookup = policy.lookupFor(80);
    const once = () => new Promise<unknown>((resolve) => lookup("flip.example", { all: true }, (error, addresses) => resolve(error ?? addresses)));
    expect(await once()).toEqual([{ address: "93.184.215.14", family: 4 }]);
    expect(await once()).toMatchObject({ code: "egress_denied" });
    expect(resolver.calls).toEqual(["flip.example", "flip.example"]);
  });

  it("connects to an internal address the operator opened, and only on the addresses it checked", async () => {
    const policy = createEgressPolicy({ resolver: scripted({ "svc.internal": [["127.0.0.1"]] }), allow: [`127.0.0.1:${server.port}`] });
    const before = server.accepted();
    const socket = await connectChecked(policy, { host: "svc.internal", port: server.port, timeoutMs: 2000 });
    expect(socket.remoteAddress).toBe("127.0.0.1");
    socket.destroy();
    const viaLookup = await connectWith(policy.lookupFor(server.port), "svc.internal", server.port);
    viaLookup.destroy();
    await expect.poll(() => server.accepted()).toBe(before + 2);
    // The same policy with a rule added keeps the old rules and the resolver.
    const narrowed = policy.with({ deny: ["svc.internal"] });
    await expect(connectChecked(narrowed, { host: "svc.internal", port: server.port, timeoutMs: 2000 })).rejects.toMatchObject({ code: "egress_denied" });
  });
});
