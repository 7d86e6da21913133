/**
 * An executor thread's secrets cache: what the caller's Host answered a run's
 * `getSecret`, kept by (run, name) so the run's next read of that name is
 * answered here instead of crossing to the caller's thread and back.
 *
 * It only repeats answers the Host already gave the same run: the run's
 * first read of a name (and its first read after any change) still reaches
 * the Host, which audits it, records the value for masking what the run
 * sends, and makes a bound secret's placeholder. What it keeps is what the
 * thread already held: the value the run's script got (it is in the
 * isolate and the run's redactor anyway), null for a name that is not set,
 * or a bound secret's placeholder, never a bound secret's value.
 * `signWithSecret` of a name whose value the run holds is computed here
 * with it; any other (a bound secret, a name not read yet) goes to the Host.
 *
 * An answer is dropped when its run ends, when it is older than
 * `ANSWER_MAX_AGE_MS`, and when the Host announces a change touching the
 * run's app (Host.watchSecrets). The announcement bumps `generation`, a
 * counter in memory shared with the caller's thread, at once, then its
 * message says which app; until this thread has handled that message no
 * answer is repeated, and an answer that crossed while the counter moved
 * is not kept. So a read that starts after the caller's thread took a
 * change never gets an answer from before it, even while the message is
 * still queued behind the run's own work.
 */
import { hmacWithSecretValue } from "../sign-secret.ts";
import { SecretPlaceholder, type Host, type RunContext } from "../types.ts";

/**
 * The longest an answer is repeated. The backstop for a change the Host
 * never heard of (a missed NOTIFY, which its own cache's lifetime covers):
 * a run reading a name in a loop crosses once per this long.
 */
export const ANSWER_MAX_AGE_MS = 1_000;

/**
 * The most names a run's answers are kept for. Past it a read is answered
 * and not kept: a script reading ever new names (set or not) would
 * otherwise grow the thread's heap, outside its isolate's memory limit,
 * until the run ends.
 */
export const MAX_ANSWERS_PER_RUN = 256;

type Answer = { value: unknown } | { placeholder: string };

interface RunAnswers {
  appId: string;
  /** Runs in flight with this id (a run id is one run; counted all the same). */
  active: number;
  answers: Map<string, { answer: Answer; at: number }>;
}

export interface ThreadSecrets {
  /** The Host the thread's executor uses: `main` with getSecret and signWithSecret answered here when they can be. */
  host: Host;
  /** A run starts on this thread: its answers may be kept from now on. */
  begin(ctx: RunContext): void;
  /** The run ended: its answers go. */
  end(ctx: RunContext): void;
  /** The caller's thread announced change number `generation` of `appId`'s secrets (null: any app's). */
  changed(generation: number, appId: string | null): void;
}

export function createThreadSecrets(main: Host, generation: Int32Array): ThreadSecrets {
  const runs = new Map<string, RunAnswers>();
  // The last change whose message this thread has handled.
  let applied = Atomics.load(generation, 0);

  const runOf = (ctx: RunContext): RunAnswers | undefined => {
    const run = runs.get(ctx.run.id);
    return run && run.appId === ctx.app.id ? run : undefined;
  };

  function remembered(ctx: RunContext, name: string): Answer | undefined {
    const run = runOf(ctx);
    if (!run) return undefined;
    // A change announced and not handled yet: which app it touches is still in the queue.
    if (Atomics.load(generation, 0) !== applied) return undefined;
    const kept = run.answers.get(name);
    if (!kept) return undefined;
    if (performance.now() - kept.at >= ANSWER_MAX_AGE_MS) {
      run.answers.delete(name);
      return undefined;
    }
    return kept.answer;
  }

  const host: Host = {
    ...main,
    async getSecret(ctx, name) {
      const known = remembered(ctx, name);
      if (known) return "placeholder" in known ? new SecretPlaceholder(known.placeholder) : known.value;
      const before = Atomics.load(generation, 0);
      const at = performance.now();
      const answer = await main.getSecret(ctx, name);
      // Kept only when no change was announced while it crossed (it may predate the change).
      const run = runOf(ctx);
      if (run && Atomics.load(generation, 0) === before && (run.answers.has(name) || run.answers.size < MAX_ANSWERS_PER_RUN)) {
        run.answers.set(name, { answer: answer instanceof SecretPlaceholder ? { placeholder: answer.text } : { value: answer ?? null }, at });
      }
      return answer;
    },
  };
  const sign = main.signWithSecret?.bind(main);
  if (sign) {
    host.signWithSecret = async (ctx, name, data, algorithm, encoding) => {
      const known = remembered(ctx, name);
      // Only a value the run holds; a bound secret's never comes here.
      if (!known || !("value" in known)) return sign(ctx, name, data, algorithm, encoding);
      if (known.value === null) return null;
      return hmacWithSecretValue(known.value, data, algorithm, encoding);
    };
  }

  return {
    host,
    begin(ctx) {
      const run = runs.get(ctx.run.id);
      if (run) run.active++;
      else runs.set(ctx.run.id, { appId: ctx.app.id, active: 1, answers: new Map() });
    },
    end(ctx) {
      const run = runs.get(ctx.run.id);
      if (!run) return;
      if (--run.active <= 0) runs.delete(ctx.run.id);
      // Two runs of one id: what either was answered goes with the first end.
      else run.answers.clear();
    },
    changed(number, appId) {
      for (const run of runs.values()) if (appId === null || run.appId === appId) run.answers.clear();
      applied = Math.max(applied, number);
    },
  };
}
