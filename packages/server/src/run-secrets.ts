import { createRedactor, type Redactor, type RunRequest, type SecretRead } from "@switchyard/executor";

/** Script versions whose reads are kept; beyond it, versions with no run under way are forgotten, oldest first. */
const MAX_VERSIONS = 2_000;
/** Distinct values kept per version (a script reading ever-new values masks the latest ones). */
const MAX_VALUES = 500;

/**
 * What the host knows of each run in flight: its script, and the secret
 * values handed to that script version, so what the host stores for the run
 * outside the executor (the send log's subject and body) is masked as the
 * executor masks the run's logs and result.
 *
 * Reads are kept per script version, not per run: a warm context keeps
 * module-level variables from one run to the next, so a value read by an
 * earlier run can appear in a later one's mail, as the executor's own
 * redactor (built from everything delivered to the context) assumes.
 */
export function createRunSecrets() {
  const runs = new Map<string, { scriptId: string; version: string }>();
  const versions = new Map<string, { values: Map<string, SecretRead>; redactor: Redactor | null }>();

  const versionOf = (runId: string) => {
    const run = runs.get(runId);
    return run ? run.version : `run ${runId}`;
  };

  function entry(version: string) {
    let known = versions.get(version);
    if (known) {
      // Map order doubles as recency.
      versions.delete(version);
    } else {
      known = { values: new Map(), redactor: null };
      if (versions.size >= MAX_VERSIONS) evict();
    }
    versions.set(version, known);
    return known;
  }

  function evict() {
    const active = new Set([...runs.values()].map((r) => r.version));
    for (const version of versions.keys()) {
      if (versions.size < MAX_VERSIONS) break;
      if (!active.has(version) && !version.startsWith("run ")) versions.delete(version);
    }
  }

  return {
    /** A run starts: its reads and sends are its script version's from now on. */
    begin(request: RunRequest): void {
      runs.set(request.ctx.run.id, { scriptId: request.script.id, version: `${request.script.id}@${request.script.version}` });
    },
    end(runId: string): void {
      runs.delete(runId);
      versions.delete(`run ${runId}`);
    },
    scriptOf(runId: string): string | null {
      return runs.get(runId)?.scriptId ?? null;
    },
    /** A secret value handed to the run's script. */
    read(runId: string, name: string, value: unknown): void {
      if (value === null || value === undefined) return;
      const known = entry(versionOf(runId));
      const key = `${name}\u0000${JSON.stringify(value)}`;
      if (known.values.has(key)) return;
      if (known.values.size >= MAX_VALUES) known.values.delete(known.values.keys().next().value as string);
      known.values.set(key, { name, value });
      known.redactor = null;
    },
    /** Masks every secret value handed to the run's script version so far. */
    redact(runId: string, text: string): string {
      const known = versions.get(versionOf(runId));
      if (!known) return text;
      known.redactor ??= createRedactor(known.values.values());
      return known.redactor.text(text);
    },
  };
}

export type RunSecrets = ReturnType<typeof createRunSecrets>;
