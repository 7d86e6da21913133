import { ValidationError } from "../errors.ts";
import { SECRET_NAME } from "./values.ts";

export interface DotenvEntry {
  name: string;
  value: string;
  line: number;
}

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\", $: "$" };

/**
 * Parses dotenv text: `NAME=value`, optional `export `, `#` comments, blank
 * lines, double quotes with escapes (\n, \t, \", \\), single quotes taken
 * literally, unquoted values trimmed with a trailing ` # comment` removed. Any
 * bad line rejects the whole file, naming the line number, so an import is
 * all or nothing.
 *
 * @example
 * parseDotenv('API_KEY=abc\nexport DB_URL="postgres://x"\n')
 */
export function parseDotenv(text: string): DotenvEntry[] {
  const entries: DotenvEntry[] = [];
  const seen = new Map<string, number>();
  const problems: { line: number; message: string }[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const match = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(trimmed);
    if (!match) return problems.push({ line, message: "expected NAME=value" });
    const [, name = "", rest = ""] = match;
    if (!SECRET_NAME.test(name)) return problems.push({ line, message: `${JSON.stringify(name.slice(0, 140))} is not a valid secret name` });
    const value = parseValue(rest);
    if (!value.ok) return problems.push({ line, message: value.message });
    const earlier = seen.get(name);
    if (earlier !== undefined) return problems.push({ line, message: `${name} was already set on line ${earlier}` });
    seen.set(name, line);
    entries.push({ name, value: value.value, line });
  });
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new ValidationError(`line ${first.line}: ${first.message}; nothing was imported`, { lines: problems });
  }
  return entries;
}

function parseValue(rest: string): { ok: true; value: string } | { ok: false; message: string } {
  if (rest.startsWith('"')) {
    let out = "";
    for (let i = 1; i < rest.length; i++) {
      const ch = rest[i]!;
      if (ch === "\\") {
        const next = rest[++i];
        if (next === undefined || !(next in ESCAPES)) return { ok: false, message: `unknown escape \\${next ?? ""} in a double-quoted value` };
        out += ESCAPES[next];
      } else if (ch === '"') {
        return trailing(rest.slice(i + 1)) ? { ok: true, value: out } : { ok: false, message: "unexpected text after the closing quote" };
      } else out += ch;
    }
    return { ok: false, message: "a double-quoted value is not closed on its line" };
  }
  if (rest.startsWith("'")) {
    const end = rest.indexOf("'", 1);
    if (end < 0) return { ok: false, message: "a single-quoted value is not closed on its line" };
    return trailing(rest.slice(end + 1)) ? { ok: true, value: rest.slice(1, end) } : { ok: false, message: "unexpected text after the closing quote" };
  }
  return { ok: true, value: rest.replace(/\s+#.*$/, "").trim() };
}

const trailing = (after: string) => /^\s*(#.*)?$/.test(after);
