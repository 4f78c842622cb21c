/**
 * Splits a crontab command at its first unescaped `%`, as cron does: the
 * part before is the shell line; the rest, with every further unescaped `%`
 * turned into a newline, is written to the command's standard input (with a
 * final newline added when missing). `\%` stands for a literal `%` in both
 * parts; any other backslash is kept.
 */
export function splitCrontabCommand(text: string): { command: string; stdin: string | undefined } {
  let command = "";
  let stdin: string | undefined;
  let escaped = false;
  for (const char of text) {
    let out = char;
    if (escaped) {
      if (char !== "%") out = `\\${char}`;
    } else if (char === "%") {
      if (stdin === undefined) {
        stdin = "";
        continue;
      }
      out = "\n";
    }
    escaped = !escaped && char === "\\";
    if (escaped) continue;
    if (stdin === undefined) command += out;
    else stdin += out;
  }
  if (escaped) {
    if (stdin === undefined) command += "\\";
    else stdin += "\\";
  }
  if (stdin !== undefined && !stdin.endsWith("\n")) stdin += "\n";
  return { command: command.trimEnd(), stdin };
}

const SKIPPED_WORDS = new Set([
  "sudo",
  "nice",
  "ionice",
  "nohup",
  "exec",
  "env",
  "/usr/bin/env",
  "flock",
  "timeout",
  "chronic",
]);
const EXTENSIONS = /\.(?:sh|bash|py|pl|rb|js|mjs|php)$/;

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/**
 * A task name derived from a shell line: the program's base name (without a
 * script extension) and its first plain argument, e.g. `backup-full` from
 * `/usr/local/bin/backup.sh full > /dev/null`; leading assignments, `cd … &&`
 * and wrappers such as `nice` are skipped. Empty when nothing usable is found.
 */
export function nameFromCommand(command: string): string {
  const words = command.split(/\s+/).filter(Boolean);
  let index = 0;
  for (;;) {
    const word = words[index];
    if (word === undefined) break;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word) || SKIPPED_WORDS.has(word) || word.startsWith("-"))
      index++;
    else if (word === "cd" && (words[index + 2] === "&&" || words[index + 2] === ";")) index += 3;
    // An option's value (`nice -n 10`) or a wrapper's (`timeout 60`).
    else if (/^[0-9]+[a-z]?$/.test(word) && index > 0) index++;
    else break;
  }
  const program = words[index] ?? "";
  const base = slug((program.split("/").at(-1) ?? "").replace(EXTENSIONS, ""));
  const argument = words[index + 1] ?? "";
  const extra = /^[A-Za-z][A-Za-z0-9:_-]{0,19}$/.test(argument) ? slug(argument) : "";
  return [base, extra].filter(Boolean).join("-").slice(0, 40).replace(/-+$/, "");
}
