/**
 * TypeScript in the script editor: diagnostics, completion and hover from
 * the language service in `worker.ts` (@valtown/codemirror-ts). Loaded
 * after the editor shows; until the worker answers, the editor is a plain
 * one, and if it never does (an old server without `/api/v1/sdk.d.ts`), it
 * stays one.
 */
import { autocompletion } from "@codemirror/autocomplete";
import type { Extension } from "@codemirror/state";
import { tsAutocompleteWorker, tsFacetWorker, tsHoverWorker, tsLinterWorker, tsSyncWorker } from "@valtown/codemirror-ts";
import type { WorkerShape } from "@valtown/codemirror-ts/worker";
import * as Comlink from "comlink";
import { scriptPath } from "./options.ts";

let started: Promise<WorkerShape> | null = null;

/** The one worker of the page, started on first use; a failed start is tried again next time. */
export function typescriptWorker(): Promise<WorkerShape> {
  started ??= (async () => {
    const worker = Comlink.wrap(new Worker(new URL("./worker.ts", import.meta.url), { type: "module", name: "typescript" })) as unknown as WorkerShape;
    await worker.initialize();
    return worker;
  })();
  started.catch(() => {
    started = null;
  });
  return started;
}

/**
 * The editor extensions for a script in `language`, and its text handed to
 * the worker first (the sync extension only sends later changes).
 */
export async function typescriptExtensions(worker: WorkerShape, language: "js" | "ts", text: string): Promise<Extension[]> {
  const path = scriptPath(language);
  await worker.updateFile({ path, code: text });
  return [tsFacetWorker.of({ worker, path }), tsSyncWorker(), tsLinterWorker(), autocompletion({ override: [tsAutocompleteWorker()] }), tsHoverWorker()];
}
