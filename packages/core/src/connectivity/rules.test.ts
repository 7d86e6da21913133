import { describe, expect, it } from "vitest";
import { countsForHealth, failureCode } from "./attempts.ts";
import { emptyHistogram, observe } from "./histogram.ts";
import { bucketMsFor, decideStatus, DEFAULT_STATUS_RULES, type Attempt, type ConnectivityStatus, type Evidence } from "./rules.ts";

const rules = DEFAULT_STATUS_RULES;

/** Evidence from a list of attempts, oldest first: all of them in the window. */
function evidence(attempts: Array<[ok: boolean, ms?: number]>): Evidence {
  const histogram = emptyHistogram();
  const recent: Attempt[] = [];
  let errors = 0;
  attempts.forEach(([ok, ms = 50], i) => {
    observe(histogram, ms);
    if (!ok) errors++;
    recent.push({ at: 1_000 + i, ok, ms });
  });
  return { window: { requests: attempts.length, errors, histogram }, recent };
}
const ok = (n: number, ms = 50) => Array.from({ length: n }, (): [boolean, number] => [true, ms]);
const failed = (n: number, ms = 50) => Array.from({ length: n }, (): [boolean, number] => [false, ms]);
const decide = (current: ConnectivityStatus, e: Evidence) => decideStatus(current, e, rules).status;

describe("connectivity status rules", () => {
  it("keeps a host answering fast and without failures healthy", () => {
    expect(decide("healthy", evidence(ok(50)))).toBe("healthy");
    expect(decide("degraded", evidence(ok(50)))).toBe("healthy");
  });

  it("marks a host degraded past 10% failures or a p95 over 2 s, and not at exactly 10% or 2 s", () => {
    expect(decide("healthy", evidence([...ok(45), ...failed(4), ...ok(1)]))).toBe("healthy"); // 8%
    expect(decide("healthy", evidence([...failed(1), ...ok(9)]))).toBe("healthy"); // exactly 10%
    expect(decide("healthy", evidence([...failed(2), ...ok(9)]))).toBe("degraded"); // 18%
    expect(decide("healthy", evidence([...ok(90), ...ok(10, 2500)]))).toBe("degraded"); // p95 in (2000, 3000]
    expect(decide("healthy", evidence([...ok(95), ...ok(5, 2500)]))).toBe("healthy"); // p95 within the fast 95%
    expect(decide("healthy", evidence(ok(20, 2000)))).toBe("healthy"); // 2000 is not over 2000
  });

  it("takes a host down when its last 5 attempts failed, even with successes earlier in the window", () => {
    expect(decide("healthy", evidence([...ok(100), ...failed(5)]))).toBe("down");
    expect(decide("degraded", evidence([...ok(100), ...failed(4)]))).toBe("healthy"); // 4 in a row, 4%
    expect(decide("healthy", evidence([...ok(100), ...failed(4), ...ok(1)]))).toBe("healthy");
  });

  it("takes a host down when attempts were made in the window and none succeeded, however few", () => {
    expect(decide("healthy", evidence(failed(1)))).toBe("down");
    expect(decide("degraded", evidence(failed(3)))).toBe("down");
  });

  it("keeps the status when the window holds no attempts", () => {
    for (const status of ["healthy", "degraded", "down"] as const) expect(decide(status, evidence([]))).toBe(status);
  });

  it("keeps a down host down until 5 successes in a row, then judges it by them alone and restarts its window", () => {
    const outage = [...ok(20), ...failed(30)];
    expect(decideStatus("down", evidence([...outage, ...ok(4)]), rules)).toEqual({ status: "down", recovered: false });
    // 5 in a row: healthy at once, although 30 failures are still in the window.
    expect(decideStatus("down", evidence([...outage, ...ok(5)]), rules)).toEqual({ status: "healthy", recovered: true });
    // Back, but slowly: degraded.
    expect(decideStatus("down", evidence([...outage, ...ok(5, 2600)]), rules)).toEqual({ status: "degraded", recovered: true });
    // A success between failures does not bring it back (no flapping on a half-broken API).
    expect(decide("down", evidence([...outage, ...ok(1), ...failed(1), ...ok(3)]))).toBe("down");
  });

  it("lets a down host go once its window holds successes and no failure (the outage has aged out)", () => {
    expect(decideStatus("down", evidence(ok(2)), rules)).toEqual({ status: "healthy", recovered: false });
    expect(decide("down", evidence(ok(2, 2600)))).toBe("degraded");
    // The latest attempts still show the outage: not yet.
    const e = evidence(ok(2));
    expect(decide("down", { ...e, recent: [{ at: 1, ok: false, ms: 10 }, ...e.recent] })).toBe("down");
  });

  it("stores minute buckets for a five-minute window and 1 s buckets for a 5 s window", () => {
    expect(bucketMsFor(300_000)).toBe(60_000);
    expect(bucketMsFor(3_600_000)).toBe(60_000);
    expect(bucketMsFor(5_000)).toBe(1_000);
    expect(bucketMsFor(1_000)).toBe(1_000);
    expect(bucketMsFor(12_000)).toBe(2_000);
  });
});

describe("which fetches count for a destination's health", () => {
  const fetch = (outcome: string, status: number | null = null) => ({ url: "https://api.example.com/", status, duration_ms: 1, outcome });
  it("leaves out what was never sent, counts no answer and 5xx/429 as failures, and any other answer as a success", () => {
    for (const outcome of ["aborted", "egress_denied", "egress_limit", "secret_host_mismatch", "egress_busy"]) expect(countsForHealth(fetch(outcome)), outcome).toBe(false);
    for (const outcome of ["dns_failed", "connect_failed", "tls_failed", "egress_timeout"]) expect(failureCode(fetch(outcome)), outcome).toBe(outcome);
    for (const outcome of ["redirect_error", "egress_redirect_limit", "egress_too_large"]) expect(failureCode(fetch(outcome)), outcome).toBeNull();
    expect(failureCode(fetch("ok", 503))).toBe("http_503");
    expect(failureCode(fetch("ok", 429))).toBe("http_429");
    expect(failureCode(fetch("ok", 404))).toBeNull();
  });
});
