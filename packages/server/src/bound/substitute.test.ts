import { describe, expect, it } from "vitest";
import type { HostFetchRequest } from "@switchyard/executor";
import { compileEchoes, echoForms, maskResponse, placeholderInHost, placeholdersIn, substitute } from "./substitute.ts";

const P = "sy_bound_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1";
const OTHER = "sy_bound_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2";
const VALUE = 'sk "live"\\ a/b&c=d é';
const lookup = (placeholder: string) => (placeholder === P ? VALUE : undefined);

function request(over: Partial<HostFetchRequest>): HostFetchRequest {
  return { method: "POST", url: "https://api.example.com/", headers: [], body: null, redirect: "follow", ...over };
}

const text = (body: Uint8Array | null) => Buffer.from(body ?? new Uint8Array()).toString("utf8");

describe("substitute", () => {
  it("percent-encodes the value in the path and query, and leaves unknown placeholders alone", () => {
    const req = request({ url: `https://api.example.com/v1/${P}/x?key=${P}&other=${OTHER}` });
    const done = substitute(req, new URL(req.url), lookup);
    expect(done.used).toEqual([P]);
    const url = new URL(done.request.url);
    expect(decodeURIComponent(url.pathname.split("/")[2] as string)).toBe(VALUE);
    expect(url.searchParams.get("key")).toBe(VALUE);
    expect(url.searchParams.get("other")).toBe(OTHER);
    expect(url.host).toBe("api.example.com");
  });

  it("puts the value in header values as it is, and inside Basic credentials decoded and encoded again", () => {
    const basic = Buffer.from(`user:${P}`).toString("base64");
    const req = request({ headers: [["X-Api-Key", P], ["Authorization", `Basic ${basic}`], ["x-plain", "nothing"]] });
    const done = substitute(req, new URL(req.url), lookup);
    expect(done.request.headers[0]).toEqual(["X-Api-Key", VALUE]);
    const sent = (done.request.headers[1] as [string, string])[1];
    expect(Buffer.from(sent.replace(/^Basic /, ""), "base64").toString("utf8")).toBe(`user:${VALUE}`);
    expect(done.basics).toEqual([sent.replace(/^Basic /, "")]);
    expect(done.request.headers[2]).toEqual(["x-plain", "nothing"]);
  });

  it("JSON-escapes the value in a JSON body, so the body stays JSON", () => {
    const req = request({ headers: [["content-type", "application/json; charset=utf-8"]], body: Buffer.from(JSON.stringify({ token: P, n: 1 })) });
    const done = substitute(req, new URL(req.url), lookup);
    expect(JSON.parse(text(done.request.body))).toEqual({ token: VALUE, n: 1 });
  });

  it("form-encodes the value in a form body", () => {
    const req = request({ headers: [["Content-Type", "application/x-www-form-urlencoded"]], body: Buffer.from(`a=1&token=${P}`) });
    const done = substitute(req, new URL(req.url), lookup);
    expect(new URLSearchParams(text(done.request.body)).get("token")).toBe(VALUE);
  });

  it("puts the value as it is in a text or multipart body, everywhere it appears", () => {
    const req = request({ headers: [["content-type", "multipart/form-data; boundary=x"]], body: Buffer.from(`--x\r\n\r\n${P}\r\n--x\r\n\r\n${P}${P}\r\n--x--`) });
    const done = substitute(req, new URL(req.url), lookup);
    expect(text(done.request.body)).toBe(`--x\r\n\r\n${VALUE}\r\n--x\r\n\r\n${VALUE}${VALUE}\r\n--x--`);
  });

  it("answers nothing used for a request without a known placeholder, and leaves its body as it was", () => {
    const body = Buffer.from(`hello ${OTHER} sy_bound_short`);
    const req = request({ body, url: `https://api.example.com/${OTHER}` });
    const done = substitute(req, new URL(req.url), lookup);
    expect(done.used).toEqual([]);
    expect(done.request.body).toBe(body);
  });

  it("finds a placeholder in the host or credentials of a URL", () => {
    expect(placeholderInHost(new URL(`https://api.example.com/${P}`), lookup)).toBe(false);
    // The URL parser lowercases a host: a placeholder there is unknown, and harmless.
    expect(placeholdersIn(`https://${P}.example.com/`, lookup)).toEqual([P]);
  });
});

describe("maskResponse", () => {
  it("replaces every echo of the value, in each form, in headers and body", () => {
    const echoes = compileEchoes(echoForms(VALUE), P, 1);
    const body = Buffer.from(JSON.stringify({ raw: VALUE, echoed: `x=${encodeURIComponent(VALUE)}` }));
    const masked = maskResponse({ status: 200, statusText: "OK", headers: [["x-echo", VALUE]], url: `https://api.example.com/v1/${encodeURIComponent(VALUE)}?k=${encodeURIComponent(VALUE)}`, redirected: false, body }, echoes);
    expect(masked.url).toBe(`https://api.example.com/v1/${P}?k=${P}`);
    const out = text(masked.body);
    expect(out).not.toContain("live");
    expect(JSON.parse(out)).toEqual({ raw: P, echoed: `x=${P}` });
    expect(masked.headers).toEqual([["x-echo", P]]);
  });

  it("finds the value inside a longer base64 text, whatever its offset there (standard and URL alphabets)", () => {
    const echoes = compileEchoes(echoForms(VALUE), P, 1);
    for (const prefix of ["", "u", "us", "user:"]) {
      for (const suffix of ["", "x", "xy"]) {
        const encoded = Buffer.from(`${prefix}${VALUE}${suffix}`).toString("base64");
        for (const body of [encoded, encoded.replace(/\+/g, "-").replace(/\//g, "_")]) {
          const masked = text(maskResponse({ status: 200, statusText: "OK", headers: [], url: "https://api.example.com/", redirected: false, body: Buffer.from(body) }, echoes).body);
          expect(masked, `${prefix}|${suffix}`).toContain(P);
        }
      }
    }
  });
});
