/**
 * How often each app's isolate was asked for lately: the evidence the
 * isolate pool's admission weighs (TinyLFU's idea, with exact counts). Every
 * count is halved once per `period` uses, so old popularity fades and the
 * counts stay small; a key whose count halves to 0 is forgotten.
 */

/** Recent use counts per key; see the file comment. */
export class UseCounts {
  private readonly counts = new Map<string, number>();
  private uses = 0;

  /** `period()` answers how many uses pass between halvings; read at each use, as the pool's size changes. */
  constructor(private readonly period: () => number) {}

  /** Counts one use of `key`; answers its count before this use. */
  use(key: string): number {
    const before = this.counts.get(key) ?? 0;
    this.counts.set(key, before + 1);
    if (++this.uses >= this.period()) this.halve();
    return before;
  }

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  get keys(): number {
    return this.counts.size;
  }

  private halve(): void {
    this.uses = 0;
    for (const [key, count] of this.counts) {
      if (count > 1) this.counts.set(key, count >> 1);
      else this.counts.delete(key);
    }
  }
}
