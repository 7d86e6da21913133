import { describe, expect, test } from "vitest";
import { lazyExports, runtimeProperSource } from "./sdk-source.ts";

describe("the runtime proper's lazy exports", () => {
  test("the built runtime builds no module's exports at its top level", () => {
    const source = runtimeProperSource();
    expect(source).not.toMatch(/__export\(\w+_exports,/);
    expect(source).not.toMatch(/__toCommonJS\(\w+_exports\)/);
    expect(source).toMatch(/abort_exports\.__sy_exports=\(\)=>\(\{/);
    expect(source).toMatch(/__sy_module\(abort_exports\)/);
  });

  test("a required module's exports are made once, on first require, as live getters", () => {
    const bundle = 'var n=1,init=()=>{n=2};var m_exports={};__export(m_exports,{n:()=>n,f:()=>f});function f(){return n}var req=()=>(init(),__toCommonJS(m_exports));';
    const evaluate = new Function(`${lazyExports(bundle)}; return { m_exports, req };`) as () => { m_exports: Record<string, unknown>; req: () => Record<string, unknown> };
    const { m_exports, req } = evaluate();
    expect(Object.keys(m_exports)).toEqual(["__sy_exports"]);
    const first = req();
    expect(first).toBe(req());
    expect(first.n).toBe(2);
    expect(Object.keys(first)).toEqual(["n", "f"]);
  });

  test("an output of another shape is refused rather than half rewritten", () => {
    expect(() => lazyExports("var x=1;")).toThrow(/unexpected shape/);
    expect(() => lazyExports('var a_exports={};__export(a_exports,{x:()=>x});__export(b,{y:{z:1}});')).toThrow(/unexpected shape/);
  });
});
