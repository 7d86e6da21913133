/**
 * Text that came from scripts, mail or remote servers (run logs, errors,
 * results, captured messages) printed on an operator's terminal: control
 * characters other than tab and newline are written as `\u001b`-style
 * escapes, so such text cannot move the cursor, rewrite lines, retitle the
 * window or reach the clipboard (OSC 52). C1 controls (U+0080-U+009F, CSI
 * among them) count too: JSON.stringify leaves them as they are. The escape
 * is also valid inside a JSON string, so `--json` output stays JSON.
 *
 * @example
 * print(terminalSafe("A\x1b]0;pwned\x07B")); // A\u001b]0;pwned\u0007B
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function terminalSafe(text: string): string {
  return text.replace(CONTROL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
