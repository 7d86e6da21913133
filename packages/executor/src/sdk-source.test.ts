import { describe, expect, test } from "vitest";
import { lazyExports, runtimeProperSource } from "./sdk-source.ts";

describe("the runtime proper's lazy exports", () => {
  test("the built runtime builds no module's exports at its top level", () => {
    const source = runtimeProperSource();
    expect(source).not.toMatch(/__export\(\w+_exports,/);
    expect(source).not.toMatch(/__toCommonJS\(\w+_exports\)/);
    expect(source).toMatch(/abort_exports=__sy_lazy\(\(\)=>\(\{get AbortController\(\)\{return AbortController\}/);
    expect(source).toMatch(/\(init_abort\(\),abort_exports\(\)\)/);
  });

  test("a required module's exports are made once, on first require, as live getters, with no builtin", () => {
    const bundle = "var n=1,init=()=>{n=2};var m_exports={};__export(m_exports,{n:()=>n,f:()=>f});function f(){return n}var req=()=>(init(),__toCommonJS(m_exports));";
    const evaluate = new Function(`${lazyExports(bundle)}; return { req };`) as () => { req: () => Record<string, unknown> };
    const { req } = evaluate();
    // What script code could have done before the runtime is evaluated: none of it is used.
    const defineProperty = Object.defineProperty;
    Object.defineProperty = () => {
      throw new Error("defineProperty was called");
    };
    try {
      const first = req();
      expect(first).toBe(req());
      expect(first.n).toBe(2);
      expect(Object.keys(first)).toEqual(["n", "f"]);
    } finally {
      Object.defineProperty = defineProperty;
    }
  });

  test("an output of another shape is refused rather than half rewritten", () => {
    expect(() => lazyExports("var x=1;")).toThrow(/unexpected shape/);
    expect(() => lazyExports("var a_exports={};__export(a_exports,{x:()=>x});__export(b,{y:{z:1}});")).toThrow(/unexpected shape/);
    expect(() => lazyExports("var a_exports={};__export(a_exports,{x:()=>x+1});")).toThrow(/unexpected shape/);
    expect(() => lazyExports("var a_exports={};__export(a_exports,{x:()=>x});__reExport(a_exports,other);")).toThrow(/unexpected shape/);
  });
});
