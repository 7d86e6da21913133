import type { ClaimedEvent } from "@switchyard/core";

/**
 * A worker's claimed events waiting for a run slot, one queue per app, served
 * in turn: the next run comes from the app after the one that started last,
 * so an app whose events arrived late does not wait behind another app's
 * backlog that was claimed first. Within an app, claim order (oldest first).
 */
export class AppQueues {
  // Map order is the turn order: the app served last goes to the back.
  private readonly queues = new Map<string, ClaimedEvent[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(event: ClaimedEvent): void {
    const queue = this.queues.get(event.appId);
    if (queue) queue.push(event);
    else this.queues.set(event.appId, [event]);
    this.count++;
  }

  /** Whether `appId` has events waiting. */
  has(appId: string): boolean {
    return this.queues.has(appId);
  }

  /** The apps with events waiting. */
  apps(): IterableIterator<string> {
    return this.queues.keys();
  }

  /** The oldest event of the first app in turn that `mayStart` admits, taken off its queue; undefined when no app is admitted. */
  takeNext(mayStart: (appId: string) => boolean): ClaimedEvent | undefined {
    for (const [appId, queue] of this.queues) {
      if (!mayStart(appId)) continue;
      const event = queue.shift() as ClaimedEvent;
      this.queues.delete(appId);
      if (queue.length > 0) this.queues.set(appId, queue);
      this.count--;
      return event;
    }
    return undefined;
  }

  /** Every waiting event, the queues emptied. */
  takeAll(): ClaimedEvent[] {
    const all = [...this.queues.values()].flat();
    this.queues.clear();
    this.count = 0;
    return all;
  }
}
