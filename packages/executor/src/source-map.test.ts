import vm from "node:vm";
import { transform } from "esbuild";
import { describe, expect, it } from "vitest";
import { compileScript } from "./compile.ts";
import { mapStack } from "./source-map.ts";

/** Compiles, runs the handler in node:vm under `script.js` as the sandbox does, and returns the thrown error's stack and the map. */
async function stackOf(source: string, filename?: string): Promise<{ stack: string; sourceMap: string }> {
  const result = await compileScript({ source, language: "ts", filename });
  if (!result.ok) throw new Error(result.error.message);
  const context = vm.createContext({});
  new vm.Script(result.value.code, { filename: "script.js" }).runInContext(context);
  const handler = (context["__switchyard_module"] as { default: () => Promise<unknown> }).default;
  const error = await handler().then(
    () => null,
    (e: unknown) => e as Error,
  );
  if (!error?.stack) throw new Error("expected the handler to throw");
  return { stack: error.stack, sourceMap: result.value.sourceMap };
}

const source = [
  "interface Payload { n: number }", // 1
  "", // 2
  "function check(p: Payload): void {", // 3
  "  if (p.n < 0) {", // 4
  '    throw new Error("negative");', // 5
  "  }", // 6
  "}", // 7
  "", // 8
  "export default async function (): Promise<void> {", // 9
  "  check({ n: -1 });", // 10
  "}", // 11
].join("\n");

describe("mapStack", () => {
  it("maps a thrown error's frames back to the original TypeScript lines", async () => {
    const { stack, sourceMap } = await stackOf(source);
    expect(stack).toMatch(/\(script\.js:\d+:\d+\)/);
    const mapped = mapStack(stack, sourceMap);
    const frames = mapped.split("\n");
    expect(frames[0]).toBe("Error: negative");
    expect(frames[1]).toBe("    at check (script.ts:5:11)");
    // esbuild names an anonymous default export `<file>_default`.
    expect(frames[2]).toBe("    at script_default (script.ts:10:3)");
  });

  it("names the source as the author's filename", async () => {
    const { stack, sourceMap } = await stackOf(source, "hooks/welcome.ts");
    expect(mapStack(stack, sourceMap)).toContain("at check (hooks/welcome.ts:5:11)");
  });

  it("accounts for the sandbox's prologue on line 1 when told its length", async () => {
    // Compiled code from compileScript starts with unmapped helpers, so use a
    // bare transform whose first line is the author's.
    const { code, map } = await transform(`const a = 1; throw new Error("boom");`, { loader: "ts", sourcemap: "external", sourcefile: "a.ts" });
    const prologue = "(function(){ ";
    let stack = "";
    try {
      new vm.Script(`${prologue}${code}})()`, { filename: "script.js" }).runInNewContext({});
    } catch (e) {
      stack = (e as Error).stack ?? "";
    }
    expect(mapStack(stack, map, { firstLineColumnOffset: prologue.length })).toContain("a.ts:1:20");
  });

  it("reads positions after 'at ', inside parentheses, and on their own", () => {
    // AAKA: generated 1:0 → line 6 column 0; ;AADC: generated 2:0 → line 5 column 1 (relative, so D is -1).
    const map = JSON.stringify({ version: 3, sources: ["a.ts"], names: [], mappings: "AAKA;AADC" });
    const stack = ["Error: x", "    at f (script.js:1:4)", "    at script.js:2:1", "script.js:2:7"].join("\n");
    expect(mapStack(stack, map)).toBe(["Error: x", "    at f (a.ts:6:1)", "    at a.ts:5:2", "a.ts:5:2"].join("\n"));
  });

  it("decodes multi-digit VLQ numbers and uses the closest segment at or before the column", () => {
    // gB is 16: the only segment on line 1 starts at generated column 16.
    const map = JSON.stringify({ version: 3, sources: ["a.ts"], sourceRoot: "src", names: [], mappings: "gBAAA" });
    expect(mapStack("at script.js:1:17", map)).toBe("at src/a.ts:1:1");
    expect(mapStack("at script.js:1:40", map)).toBe("at src/a.ts:1:1");
    expect(mapStack("at script.js:1:16", map)).toBe("at script.js:1:16");
  });

  it("leaves frames it cannot map alone", async () => {
    const { sourceMap } = await stackOf(source);
    const stack = [
      "Error: x",
      "    at helper (script.js:2:3)", // esbuild's helper prologue: unmapped
      "    at other (myscript.js:10:3)",
      "    at run (node:internal/process/task_queues:95:5)",
      "    at far (script.js:9999:1)",
      "    at async Promise.all (index 0)",
    ].join("\n");
    expect(mapStack(stack, sourceMap)).toBe(stack);
  });

  it("honours a different sandbox filename", () => {
    const map = JSON.stringify({ version: 3, sources: ["a.ts"], names: [], mappings: "AAAA" });
    expect(mapStack("at (user.js:1:1) (script.js:1:1)", map, { filename: "user.js" })).toBe("at (a.ts:1:1) (script.js:1:1)");
  });

  it("returns the stack unchanged when the map is missing or malformed, and never throws", () => {
    const stack = "Error: x\n    at f (script.js:1:1)";
    for (const bad of [null, "", "not json", "[]", "null", '{"version":2,"sources":[],"mappings":""}', '{"version":3,"sources":["a"],"mappings":"!!"}', '{"version":3,"sources":["a"],"mappings":"AAA"}', '{"version":3,"sources":["a"],"mappings":"g"}']) {
      expect(mapStack(stack, bad)).toBe(stack);
    }
    expect(mapStack(undefined as unknown as string, "{}")).toBeUndefined();
  });
});
