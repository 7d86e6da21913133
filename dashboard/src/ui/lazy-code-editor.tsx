import type { Ref } from "preact";
import { useEffect, useState } from "preact/hooks";
import type * as CodeEditorModule from "./code-editor.tsx";
import type { CodeEditorHandle } from "./code-editor.tsx";

type Module = typeof CodeEditorModule;
let loaded: Promise<Module> | null = null;

/** CodeMirror is most of the bundle: it loads when an editor first shows, not with every page. */
export function LazyCodeEditor(props: { initial: string; language: "js" | "ts"; label: string; handle: Ref<CodeEditorHandle> }) {
  const [mod, setMod] = useState<Module | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    loaded ??= import("./code-editor.tsx");
    loaded.then(setMod, () => {
      loaded = null;
      setFailed(true);
    });
  }, []);
  if (failed) return <p class="error">The editor could not be loaded. Reload the page.</p>;
  if (!mod) return <div class="code-editor loading" aria-busy="true" />;
  return <mod.CodeEditor {...props} />;
}
