import ivm from "isolated-vm";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createExecutor, type Executor } from "./executor.ts";
import { SDK_TYPES_PATH, sdkTypes } from "./sdk-types.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

/** A global's own names: statics of a class (or function), members of its instances (or of an object). */
interface Members {
  statics: string[];
  instance: string[];
}

/** What each side defines beyond ECMAScript: global names and their members. */
interface Surface {
  globals: string[];
  members: Record<string, Members>;
}

/**
 * The names V8 itself puts on a context's global (ECMAScript's builtins and
 * V8's own, like `WebAssembly`), from a bare isolated-vm context: what is
 * left over in the sandbox is what Switchyard adds.
 */
async function v8Globals(): Promise<string[]> {
  const isolate = new ivm.Isolate({ memoryLimit: 16 });
  try {
    const context = await isolate.createContext();
    return JSON.parse((await context.eval("JSON.stringify(Object.getOwnPropertyNames(globalThis))")) as string) as string[];
  } finally {
    isolate.dispose();
  }
}

/**
 * Runs in a real sandbox (the SDK bootstrap and the web runtime installed as
 * for any script). A V8 global counts as Switchyard's when the sandbox
 * replaced it (its functions are script code, not native). A member walk
 * stops at ECMAScript's objects, so `Error`'s
 * members are not counted as `NonRetryableError`'s; the error classes are
 * also constructed, for the fields their constructors set.
 */
const PROBE = `export default function (event) {
  const native = (f) => typeof f === "function" && /\\{\\s*\\[native code\\]\\s*\\}$/.test(Function.prototype.toString.call(f));
  // V8's own console is replaced by the SDK's: a V8 name whose value is script code is Switchyard's.
  const replaced = (value) =>
    typeof value === "function" ? !native(value)
    : value !== null && typeof value === "object" && Object.values(Object.getOwnPropertyDescriptors(value)).some((d) => typeof d.value === "function" && !native(d.value));
  const builtin = new Set(event.payload.builtins.filter((name) => name === "globalThis" || !replaced(globalThis[name])));
  const functionProtos = [async () => {}, function* () {}, async function* () {}].map((f) => Object.getPrototypeOf(f));
  const stops = new Set([Object.prototype, Function.prototype, ...functionProtos]);
  for (const name of builtin) {
    const value = globalThis[name];
    if (value === null || (typeof value !== "object" && typeof value !== "function")) continue;
    stops.add(value);
    if (typeof value === "function" && value.prototype) stops.add(value.prototype);
  }
  const chain = (object) => {
    const names = new Set();
    for (let o = object; o && !stops.has(o); o = Object.getPrototypeOf(o)) for (const name of Object.getOwnPropertyNames(o)) names.add(name);
    return [...names];
  };
  const globals = Object.getOwnPropertyNames(globalThis).filter((name) => !builtin.has(name));
  const members = {};
  for (const name of globals) {
    if (name === "self") continue;
    const value = globalThis[name];
    if (typeof value === "function") {
      members[name] = {
        statics: chain(value).filter((k) => k !== "length" && k !== "name" && k !== "prototype"),
        instance: value.prototype ? chain(value.prototype).filter((k) => k !== "constructor") : [],
      };
    } else if (value !== null && typeof value === "object") {
      members[name] = { statics: [], instance: chain(value).filter((k) => k !== "constructor") };
    }
  }
  const samples = { NonRetryableError: () => new NonRetryableError("x"), RetryAfterError: () => new RetryAfterError("x", 1) };
  for (const [name, make] of Object.entries(samples)) {
    if (!members[name]) continue;
    const own = Object.getOwnPropertyNames(make()).filter((k) => k !== "message" && k !== "stack");
    members[name].instance.push(...own);
  }
  return { globals, members };
}`;

async function sandboxSurface(executor: Executor, builtins: string[]): Promise<Surface> {
  const outcome = await executor.run(requestFor(compileForTest(PROBE), { kind: "manual", payload: { builtins } }));
  if (outcome.status !== "ok") throw new Error(`the probe failed: ${outcome.error?.message ?? outcome.status}`);
  return outcome.result as Surface;
}

/**
 * The d.ts read by the TypeScript compiler with the library scripts are
 * checked against (es2023, no DOM): every global value it declares, and the
 * members each declares itself (inherited ECMAScript members are the lib's).
 */
function typesSurface(): { surface: Surface; diagnostics: string[] } {
  const program = ts.createProgram([SDK_TYPES_PATH], { lib: ["lib.es2023.d.ts"], types: [], strict: true, noEmit: true, target: ts.ScriptTarget.ES2022 });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(SDK_TYPES_PATH);
  if (!file) throw new Error("the d.ts did not load");
  const ours = (symbol: ts.Symbol) => (symbol.declarations ?? []).some((d) => d.getSourceFile() === file);
  const ownNames = (type: ts.Type) =>
    checker
      .getPropertiesOfType(type)
      .filter(ours)
      .map((p) => p.name)
      // Symbol-keyed members (`[Symbol.iterator]`): the sandbox side lists string keys only.
      .filter((name) => !name.startsWith("__@"));

  const globals = checker.getSymbolsInScope(file, ts.SymbolFlags.Value).filter((s) => ours(s) && (s.flags & ts.SymbolFlags.Value) !== 0);
  const members: Record<string, Members> = {};
  for (const symbol of globals) {
    if (symbol.name === "self") continue;
    const declaration = (symbol.valueDeclaration ?? symbol.declarations?.[0]) as ts.Declaration;
    const type = checker.getTypeOfSymbolAtLocation(symbol, declaration);
    const prototype = type.getProperty("prototype");
    if (prototype) {
      members[symbol.name] = {
        statics: ownNames(type).filter((name) => name !== "prototype"),
        instance: ownNames(checker.getTypeOfSymbolAtLocation(prototype, declaration)),
      };
    } else if (type.getCallSignatures().length > 0) {
      members[symbol.name] = { statics: ownNames(type), instance: [] };
    } else {
      members[symbol.name] = { statics: [], instance: ownNames(type) };
    }
  }
  return { surface: { globals: globals.map((s) => s.name), members }, diagnostics };
}

const only = (a: Iterable<string>, b: Iterable<string>) => {
  const other = new Set(b);
  return [...new Set(a)].filter((x) => !other.has(x)).sort();
};

describe("types/switchyard.d.ts against the sandbox", () => {
  let executor: Executor;
  let sandbox: Surface;
  let types: Surface;
  let diagnostics: string[];

  beforeAll(async () => {
    executor = createExecutor({ host: memoryHost() });
    sandbox = await sandboxSurface(executor, await v8Globals());
    ({ surface: types, diagnostics } = typesSurface());
  });
  afterAll(() => executor.dispose());

  test("the declarations compile on their own against es2023 without the DOM", () => {
    expect(diagnostics).toEqual([]);
  });

  test("every global the sandbox adds to ECMAScript is declared, and nothing else is", () => {
    expect({ onlyInSandbox: only(sandbox.globals, types.globals), onlyInTypes: only(types.globals, sandbox.globals) }).toEqual({ onlyInSandbox: [], onlyInTypes: [] });
    // The probe really saw the SDK and the runtime, not an empty list.
    expect(sandbox.globals).toEqual(expect.arrayContaining(["secrets", "email", "console", "fetch", "crypto", "URL", "NonRetryableError"]));
  });

  test("each global's members (the SDK objects', each class's statics and instances') are the same on both sides", () => {
    const differences: Record<string, { onlyInSandbox: string[]; onlyInTypes: string[] }> = {};
    for (const name of Object.keys(sandbox.members)) {
      const run = sandbox.members[name] as Members;
      const typed = types.members[name];
      if (!typed) continue;
      const statics = { onlyInSandbox: only(run.statics, typed.statics), onlyInTypes: only(typed.statics, run.statics) };
      const instance = { onlyInSandbox: only(run.instance, typed.instance), onlyInTypes: only(typed.instance, run.instance) };
      if (statics.onlyInSandbox.length + statics.onlyInTypes.length > 0) differences[`${name} (static)`] = statics;
      if (instance.onlyInSandbox.length + instance.onlyInTypes.length > 0) differences[name] = instance;
    }
    expect(differences).toEqual({});
    expect(sandbox.members.secrets?.instance.sort()).toEqual(["get", "list", "sign"]);
    expect(sandbox.members.email?.instance.sort()).toEqual(["send", "sendHtml"]);
  });

  test("sdkTypes() answers the file's text", () => {
    expect(sdkTypes()).toContain("declare var secrets: Switchyard.Secrets;");
  });
});
