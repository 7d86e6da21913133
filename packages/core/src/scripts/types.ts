import type { StoredLimits } from "@switchyard/db";

export type ScriptLanguage = "js" | "ts";

export interface Diagnostic {
  message: string;
  line: number;
  column: number;
  lineText?: string;
}

/** What a compiler answers (the executor's `compileScript` has this shape). */
export type CompileOutcome =
  | { ok: true; value: { code: string; sourceMap: string; warnings?: Diagnostic[] } }
  | { ok: false; error: { code: string; message: string; diagnostics: Diagnostic[] } };

/** The compiler the scripts service deploys with; core does not depend on the executor itself. */
export type Compile = (input: { source: string; language: ScriptLanguage; filename?: string; maxBytes?: number }) => Promise<CompileOutcome>;

export type { StoredLimits };

/** Operator maximums and defaults for per-script limits. */
export interface LimitPolicy {
  defaults: Required<StoredLimits>;
  max: Required<StoredLimits>;
}
