/** Polls `probe` until it answers something truthy, and answers that; fails after `ms`. */
export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, ms = 15_000, everyMs = 20): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
