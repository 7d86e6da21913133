import { javascript } from "@codemirror/lang-javascript";
import { lintGutter, setDiagnostics, type Diagnostic as CmDiagnostic } from "@codemirror/lint";
import { Compartment, EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { useEffect, useImperativeHandle, useRef } from "preact/hooks";
import type { Ref } from "preact";
import type { Diagnostic } from "../api/client.ts";

export interface CodeEditorHandle {
  value(): string;
  /** Marks compile errors at their line and column (both 1-based, as the API sends them). */
  showDiagnostics(diagnostics: Diagnostic[]): void;
  goTo(line: number, column: number): void;
}

// Page styles do not reach into the shadow root; CSS variables do.
const theme = EditorView.theme({
  "&": { maxHeight: "60vh", fontSize: "13px", backgroundColor: "#fff" },
  "&.cm-focused": { outline: "2px solid var(--info, #0b5cad)" },
  ".cm-scroller": { fontFamily: "var(--mono, monospace)", overflow: "auto" },
  ".cm-content, .cm-gutter": { minHeight: "16rem" },
});

/** CodeMirror 6 for a script's source; JavaScript or TypeScript highlighting. */
export function CodeEditor(props: { initial: string; language: "js" | "ts"; label: string; handle: Ref<CodeEditorHandle> }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useRef(new Compartment());
  // TypeScript's diagnostics, completion and hover, once its worker answers (typescript/extensions.ts).
  const types = useRef(new Compartment());

  useEffect(() => {
    if (!host.current) return;
    // CodeMirror injects its styles; in a shadow root it uses a constructed
    // stylesheet, which the page's Content-Security-Policy (style-src 'self',
    // no inline <style>) allows.
    const shadow = host.current.shadowRoot ?? host.current.attachShadow({ mode: "open" });
    const mount = document.createElement("div");
    shadow.replaceChildren(mount);
    const editor = new EditorView({
      root: shadow,
      parent: mount,
      state: EditorState.create({
        doc: props.initial,
        extensions: [
          basicSetup,
          lintGutter(),
          theme,
          language.current.of(javascript({ typescript: props.language === "ts" })),
          types.current.of([]),
          EditorView.contentAttributes.of({ "aria-label": props.label }),
          // A deploy's diagnostics describe the deployed text: editing makes them stale.
          EditorView.updateListener.of((u) => {
            if (u.docChanged) u.view.dispatch(setDiagnostics(u.state, []));
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
    // The document is the editor's own after the first render; `initial` seeds it only.
  }, []);

  useEffect(() => {
    view.current?.dispatch({ effects: language.current.reconfigure(javascript({ typescript: props.language === "ts" })) });
  }, [props.language]);

  // Each language is its own file for the language service (script.js is checked as JavaScript).
  useEffect(() => {
    let current = true;
    void (async () => {
      try {
        const { typescriptExtensions, typescriptWorker } = await import("./typescript/extensions.ts");
        const worker = await typescriptWorker();
        const editor = view.current;
        if (!current || !editor) return;
        const extensions = await typescriptExtensions(worker, props.language, editor.state.doc.toString());
        if (!current || view.current !== editor) return;
        editor.dispatch({ effects: types.current.reconfigure(extensions) });
        host.current?.setAttribute("data-types", "ready");
      } catch (error) {
        // The editor works without it; say why where a developer looks.
        console.warn("the script editor runs without TypeScript:", error);
        host.current?.setAttribute("data-types", "unavailable");
      }
    })();
    return () => {
      current = false;
    };
  }, [props.language]);

  useImperativeHandle(props.handle, () => ({
    value: () => view.current?.state.doc.toString() ?? props.initial,
    showDiagnostics(diagnostics) {
      const editor = view.current;
      if (!editor) return;
      const doc = editor.state.doc;
      const marks: CmDiagnostic[] = diagnostics.map((d) => {
        const line = doc.line(Math.min(Math.max(d.line, 1), doc.lines));
        const from = Math.min(line.from + Math.max(d.column - 1, 0), line.to);
        return { from, to: Math.min(from + 1, line.to), severity: "error", message: d.message };
      });
      editor.dispatch(setDiagnostics(editor.state, marks));
    },
    goTo(lineNumber, column) {
      const editor = view.current;
      if (!editor) return;
      const line = editor.state.doc.line(Math.min(Math.max(lineNumber, 1), editor.state.doc.lines));
      const at = Math.min(line.from + Math.max(column - 1, 0), line.to);
      editor.dispatch({ selection: { anchor: at }, scrollIntoView: true });
      editor.focus();
    },
  }));

  return <div class="code-editor" ref={host} />;
}
