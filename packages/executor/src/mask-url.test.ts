import { describe, expect, test } from "vitest";
import { maskRecordedUrl } from "./mask-url.ts";
import { createRedactor } from "./redact.ts";

const redactor = createRedactor([
  { name: "KEY", value: "sk_live_abc" },
  { name: "PASS", value: "p@ss wörd/1" },
  { name: "HOST", value: "AcmeTenant" },
]);
const mask = (url: string) => maskRecordedUrl(url, redactor);

describe("masking a recorded subrequest URL", () => {
  test("masks the segment a secret sits in, raw or percent-encoded in any way, and leaves the others", () => {
    expect(mask("https://api.test/v1/sk_live_abc/items")).toBe("https://api.test/v1/[secret:KEY]/items");
    expect(mask("https://api.test/v1/key-sk_live_abc.json")).toBe("https://api.test/v1/[secret:KEY]");
    expect(mask("https://api.test/v1/sk%5Flive%5fabc")).toBe("https://api.test/v1/[secret:KEY]");
    // As the URL parser records "p@ss wörd/1": neither its text nor its encodeURIComponent form.
    expect(mask(new URL("https://api.test/a/p@ss wörd/1/b").href)).toBe("https://api.test/a/[secret:PASS]/[secret:PASS]/b");
    expect(mask(`https://api.test/a/${encodeURIComponent(encodeURIComponent("p@ss wörd/1"))}/b`)).toBe("https://api.test/a/[secret:PASS]/b");
  });

  test("masks a secret in the host whatever its case", () => {
    expect(mask("https://acmetenant.api.test/x")).toBe("https://[secret:HOST].api.test/x");
    expect(mask("https://ACMETENANT.api.test:8443/x")).toBe("https://[secret:HOST].api.test:8443/x");
  });

  test("never throws on malformed escapes or bad UTF-8, and leaves a URL without secrets as it was", () => {
    for (const url of ["https://api.test/%", "https://api.test/%E0%A4%/%zz/%FF", "https://api.test/%%%41", "https://api.test", "not a url sk_live_abc"]) {
      expect(() => mask(url)).not.toThrow();
    }
    expect(mask("https://api.test/%E0%A4%/%zz/%FF")).toBe("https://api.test/%E0%A4%/%zz/%FF");
    expect(mask("https://api.test/%FF/sk%5Flive_abc")).toBe("https://api.test/%FF/[secret:KEY]");
    expect(mask("not a url sk_live_abc")).toBe("not a url [secret:KEY]");
    expect(maskRecordedUrl("https://api.test/sk_live_abc", createRedactor([]))).toBe("https://api.test/sk_live_abc");
  });
});
