import { describe, expect, it } from "vitest";
import type { SwitchyardError } from "../errors.ts";
import { parseDotenv } from "./dotenv.ts";

const lineOf = (text: string) => {
  try {
    parseDotenv(text);
  } catch (error) {
    return ((error as SwitchyardError).details as { lines: { line: number }[] }).lines.map((l) => l.line);
  }
  return [];
};

describe("parseDotenv", () => {
  it("reads plain, exported, quoted and commented lines", () => {
    const text = [
      "# a comment",
      "",
      "PLAIN=value",
      "export EXPORTED=yes",
      'DOUBLE="a\\nb \\"q\\" \\\\ \\t"',
      "SINGLE='no $expansion \\n here'",
      "TRAILING=value # comment",
      "HASH=abc#def",
      "EMPTY=",
      "  INDENTED = spaced  ",
      "CRLF=ok\r",
    ].join("\n");
    expect(Object.fromEntries(parseDotenv(text).map((e) => [e.name, e.value]))).toEqual({
      PLAIN: "value",
      EXPORTED: "yes",
      DOUBLE: 'a\nb "q" \\ \t',
      SINGLE: "no $expansion \\n here",
      TRAILING: "value",
      HASH: "abc#def",
      EMPTY: "",
      INDENTED: "spaced",
      CRLF: "ok",
    });
  });

  it("names the line of each problem and rejects the whole file", () => {
    expect(lineOf("OK=1\nno equals sign\n")).toEqual([2]);
    expect(lineOf("OK=1\n1BAD=x\n")).toEqual([2]);
    expect(lineOf('A="unclosed\n')).toEqual([1]);
    expect(lineOf("A='x' trailing\n")).toEqual([1]);
    expect(lineOf('A="\\q"\n')).toEqual([1]);
    expect(lineOf("A=1\nB=2\nA=3\n")).toEqual([3]);
    expect(lineOf("bad\nA=1\nworse\n")).toEqual([1, 3]);
    expect(() => parseDotenv("bad line")).toThrow(/^line 1: expected NAME=value; nothing was imported$/);
  });

  it("accepts an empty file", () => {
    expect(parseDotenv("")).toEqual([]);
    expect(parseDotenv("# only comments\n\n")).toEqual([]);
  });
});
