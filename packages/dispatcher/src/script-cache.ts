import { getScriptById, type Db, type ScriptsService } from "@switchyard/core";
import type { CompiledScript } from "@switchyard/executor";

/** Script versions kept; past it the oldest entry goes (a miss costs one query). */
const MAX_ENTRIES = 1000;

/**
 * The executor's view of a script version (compiled code, source map,
 * effective limits), cached by script id and checked against the version the
 * claim read: a deploy bumps the version with a compare-and-set, and a
 * version's code, limits and context mode never change, so a cached entry of
 * the claimed version is the row as it is. A job then starts without reading
 * the script, which is most of what it used to read.
 */
export function createScriptCache(deps: { db: Db; scripts: Pick<ScriptsService, "effectiveLimits"> }) {
  const entries = new Map<string, Promise<CompiledScript | undefined>>();

  async function load(scriptId: string): Promise<CompiledScript | undefined> {
    const row = await getScriptById(deps.db, scriptId);
    if (!row) return undefined;
    const limits = deps.scripts.effectiveLimits(row);
    return {
      id: row.id,
      appId: row.appId,
      version: row.version,
      code: row.compiled,
      sourceMap: row.sourceMap,
      freshContext: row.freshContext,
      limits: { memoryMb: limits.memory_mb, cpuMs: limits.cpu_ms, wallMs: limits.wall_ms },
    };
  }

  return {
    /**
     * The script at `version` or later (a deploy may land between the claim
     * and the read; the run then takes the newer version, as it would have
     * read it). Undefined when the script is gone.
     */
    async get(scriptId: string, version: number): Promise<CompiledScript | undefined> {
      const cached = entries.get(scriptId);
      if (cached) {
        const script = await cached;
        if (script && script.version >= version) return script;
      }
      const loading = load(scriptId);
      entries.delete(scriptId);
      entries.set(scriptId, loading);
      if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
      try {
        const script = await loading;
        if (!script && entries.get(scriptId) === loading) entries.delete(scriptId);
        return script;
      } catch (error) {
        if (entries.get(scriptId) === loading) entries.delete(scriptId);
        throw error;
      }
    },
  };
}

export type ScriptCache = ReturnType<typeof createScriptCache>;
