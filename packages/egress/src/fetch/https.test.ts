import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEgressPolicy, type EgressResolver } from "../policy.ts";
import { createFetchClient } from "./client.ts";
import { bodyOf, bytes, rejection, startServer, type TestServer, text } from "./test-servers.ts";
import type { HostFetchRequest } from "./types.ts";

/**
 * A private CA and a server certificate it signs for `secure.test`, made
 * with the openssl command into a scratch folder (nothing is checked in).
 */
function makeCertificates(folder: string): { caFile: string; key: string; cert: string } {
  const at = (name: string) => join(folder, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", at("ca.key"), "-out", at("ca.pem"), "-days", "1", "-subj", "/CN=Switchyard test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  openssl("req", "-new", ...ec, "-keyout", at("server.key"), "-out", at("server.csr"), "-subj", "/CN=secure.test");
  writeFileSync(at("server.ext"), "subjectAltName=DNS:secure.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
  openssl("x509", "-req", "-in", at("server.csr"), "-CA", at("ca.pem"), "-CAkey", at("ca.key"), "-CAcreateserial", "-out", at("server.pem"), "-days", "1", "-extfile", at("server.ext"));
  return { caFile: at("ca.pem"), key: readFileSync(at("server.key"), "utf8"), cert: readFileSync(at("server.pem"), "utf8") };
}

// Both names lead to the test server on loopback; only secure.test is on its certificate.
const resolver: EgressResolver = async (hostname) => (hostname === "secure.test" || hostname === "other.test" ? [{ address: "127.0.0.1", family: 4 }] : []);

const post = (url: string): HostFetchRequest => ({ method: "POST", url, headers: [["content-type", "application/json"]], body: bytes('{"ping":true}'), redirect: "follow" });


describe("fetch over HTTPS with a private CA", () => {
  let folder: string;
  let caFile: string;
  let server: TestServer;
  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), "sy-egress-tls-"));
    const made = makeCertificates(folder);
    caFile = made.caFile;
    server = await startServer(
      async (req, res) => {
        const body = JSON.parse((await bodyOf(req)).toString()) as { ping: boolean };
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ pong: body.ping }));
      },
      { tls: { key: made.key, cert: made.cert } },
    );
  });
  afterAll(async () => {
    await server?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  const policy = () => createEgressPolicy({ allow: [`127.0.0.1:${server.port}`], resolver });

  it("verifies a server the CA file's authority signed, beside the system's roots", async () => {
    // What the server does with SWITCHYARD_EGRESS_CA_FILE: read the file, hand its PEM to the client.
    const client = createFetchClient({ policy: policy(), ca: [readFileSync(caFile, "utf8")] });
    try {
      const response = await client.fetch(post(`https://secure.test:${server.port}/ping`));
      expect(response).toMatchObject({ status: 200, url: `https://secure.test:${server.port}/ping` });
      expect(JSON.parse(text(response.body))).toEqual({ pong: true });
    } finally {
      await client.close();
    }
  });

  it("refuses the same server without the CA, as tls_failed with no library text", async () => {
    const client = createFetchClient({ policy: policy() });
    try {
      const error = await rejection(client.fetch(post(`https://secure.test:${server.port}/ping`)));
      expect(error.code).toBe("tls_failed");
      expect(error.message).toBe(`fetch to https://secure.test:${server.port} failed: the TLS connection could not be verified`);
    } finally {
      await client.close();
    }
  });

  it("refuses a certificate for another name even from the trusted CA, as tls_failed", async () => {
    const client = createFetchClient({ policy: policy(), ca: [readFileSync(caFile, "utf8")] });
    try {
      expect((await rejection(client.fetch(post(`https://other.test:${server.port}/ping`)))).code).toBe("tls_failed");
    } finally {
      await client.close();
    }
  });
});
