import { CronSyntaxError } from "../errors.js";
import { parseCron } from "../cron/index.js";
import { NICKNAMES } from "../cron/fields.js";
import { nameFromCommand, splitCrontabCommand } from "./crontab-command.js";
import { isKnownTimeZone } from "./schedule-checks.js";

/** Something on a crontab line that the schedule file does not carry over as is. */
export interface CrontabNote {
  /** 1-based line of the crontab. */
  readonly line: number;
  readonly message: string;
}

/** The outcome of {@link importCrontab}. */
export interface CrontabImport {
  /** A schedule file (YAML with comments) that `loadScheduleFile` accepts. */
  readonly yaml: string;
  /** Line by line, what could not be carried over (or was carried differently). */
  readonly notes: readonly CrontabNote[];
  /** How many tasks the file holds. */
  readonly taskCount: number;
}

/** Options of {@link importCrontab}. */
export interface ImportCrontabOptions {
  /** Where the crontab came from, for the header comment (a file name, or `crontab -l`). */
  readonly source?: string;
}

const ENV_LINE = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;
const ENTRY_LINE = /^\s*((?:\S+\s+){4}\S+)\s+(\S.*)$/;
const DEFAULT_SHELLS = new Set(["/bin/sh", "sh", "/usr/bin/sh"]);

const quote = (text: string): string => JSON.stringify(text);
const comment = (text: string): string => text.replace(/[\r\n]+/g, " ");

function unquote(value: string): string {
  const first = value[0];
  if (value.length >= 2 && (first === '"' || first === "'") && value.at(-1) === first)
    return value.slice(1, -1);
  return value;
}

/** The state a crontab builds up line by line and the text produced so far. */
interface ImportState {
  readonly out: string[];
  readonly notes: CrontabNote[];
  readonly names: Set<string>;
  env: Map<string, string>;
  /** The YAML anchor of the current env (shared by the entries that follow it). */
  envAnchor: { name: string; defined: boolean } | undefined;
  anchors: number;
  timezone: string | undefined;
  shell: string;
  jitterMs: number | undefined;
  tasks: number;
  /** MAILTO's addresses for the entries that follow (empty: no mail, as `MAILTO=""` in cron). */
  mailto: string[];
  mailfrom: string | undefined;
}

function note(state: ImportState, line: number, message: string, inline = true): void {
  state.notes.push({ line, message });
  if (inline) state.out.push(`  # NOTE (crontab line ${line}): ${comment(message)}`);
}

function uniqueName(state: ImportState, command: string, line: number): string {
  const base = nameFromCommand(command) || `crontab-line-${line}`;
  let name = base;
  for (let suffix = 2; state.names.has(name); suffix++) name = `${base}-${suffix}`;
  state.names.add(name);
  return name;
}

function handleEnvLine(state: ImportState, line: number, name: string, rawValue: string): void {
  const value = unquote(rawValue);
  switch (name) {
    case "MAILTO":
      state.mailto = value
        .split(",")
        .map((address) => address.trim())
        .filter((address) => address !== "");
      note(
        state,
        line,
        state.mailto.length === 0
          ? `MAILTO is empty: the entries that follow send no mail, as in cron`
          : `MAILTO=${value} becomes \`notify.email\` of the entries that follow, on failure: cron mails any output of a run, orchestrator mails when a run fails (output is kept in the run history); set SMTP_URL (smtp://user:password@host:port) for the daemon`,
      );
      return;
    case "MAILFROM":
      state.mailfrom = value === "" ? undefined : value;
      note(
        state,
        line,
        `MAILFROM=${value} becomes \`notify.email.from\` of the entries that follow`,
      );
      return;
    case "CRON_TZ":
    case "TZ":
      if (value !== "" && !isKnownTimeZone(value)) {
        note(
          state,
          line,
          `${name}=${value} is not a time zone this runtime knows; the following entries keep ${state.timezone ?? "the daemon's zone"}`,
        );
        return;
      }
      state.timezone = value === "" ? undefined : value;
      if (name === "CRON_TZ") return;
      break;
    case "SHELL":
      state.shell = value;
      if (!DEFAULT_SHELLS.has(value)) {
        note(
          state,
          line,
          `SHELL=${value}: the following commands run as ["${value}", "-c", …] instead of \`shell: true\` (which uses /bin/sh)`,
        );
      }
      break;
    case "RANDOM_DELAY":
      if (/^\d+$/.test(value)) {
        state.jitterMs = Number(value) * 60_000;
        note(
          state,
          line,
          `RANDOM_DELAY=${value} (minutes) becomes \`jitterMs: ${state.jitterMs}\` on the following entries`,
        );
        return;
      }
      break;
  }
  state.env = new Map(state.env).set(name, value);
  state.envAnchor = undefined;
}

function checkSchedule(expression: string, timezone: string | undefined): string | undefined {
  try {
    const cron = parseCron(expression, timezone === undefined ? {} : { timezone });
    if (cron.next(new Date(0)) === null) return `the schedule "${expression}" never fires`;
    return undefined;
  } catch (error) {
    if (error instanceof CronSyntaxError) return error.message;
    return error instanceof Error ? error.message : String(error);
  }
}

function emitEnv(state: ImportState): void {
  if (state.env.size === 0) return;
  if (state.envAnchor?.defined) {
    state.out.push(`    env: *${state.envAnchor.name}`);
    return;
  }
  state.anchors += 1;
  state.envAnchor = { name: `env${state.anchors}`, defined: true };
  state.out.push(`    env: &${state.envAnchor.name}`);
  // Cron does not expand variables in environment lines; keep `${` literal.
  for (const [key, value] of state.env)
    state.out.push(`      ${key}: ${quote(value.replaceAll("${", () => "$${"))}`);
}

function emitEntry(
  state: ImportState,
  line: number,
  schedule: string,
  rawCommand: string,
  original: string,
): void {
  const problem = checkSchedule(schedule, state.timezone);
  if (problem) {
    note(state, line, `not carried over: ${problem}`);
    state.out.push(`  # ${comment(original.trim())}`);
    return;
  }
  const { command, stdin } = splitCrontabCommand(rawCommand);
  if (stdin !== undefined) {
    note(
      state,
      line,
      "the text after the first unescaped % is the command's standard input, as in cron: carried as `stdin`",
    );
  }
  state.tasks += 1;
  state.out.push(`  # crontab line ${line}: ${comment(original.trim())}`);
  state.out.push(`  - name: ${quote(uniqueName(state, command, line))}`);
  state.out.push(`    schedule: ${quote(schedule)}`);
  if (state.timezone !== undefined) state.out.push(`    timezone: ${quote(state.timezone)}`);
  if (DEFAULT_SHELLS.has(state.shell)) {
    state.out.push(`    command: ${quote(command)}`, "    shell: true");
  } else {
    state.out.push(`    command: [${quote(state.shell)}, "-c", ${quote(command)}]`);
  }
  emitEnv(state);
  if (stdin !== undefined) state.out.push(`    stdin: ${quote(stdin)}`);
  if (state.jitterMs) state.out.push(`    jitterMs: ${state.jitterMs}`);
  emitNotify(state);
}

/** MAILTO as `notify.email`: on failure (cron mails any output; see the note at MAILTO). */
function emitNotify(state: ImportState): void {
  if (state.mailto.length === 0) return;
  state.out.push(
    "    notify:",
    "      on: [failure]",
    "      email:",
    `        to: [${state.mailto.map(quote).join(", ")}]`,
  );
  if (state.mailfrom !== undefined) state.out.push(`        from: ${quote(state.mailfrom)}`);
  state.out.push('        smtp: "${SMTP_URL}"');
}

function handleLine(state: ImportState, line: number, text: string): void {
  const trimmed = text.trim();
  if (trimmed === "") {
    if (state.out.at(-1) !== "") state.out.push("");
    return;
  }
  if (trimmed.startsWith("#")) {
    state.out.push(`  # ${comment(trimmed.replace(/^#+\s?/, ""))}`);
    return;
  }
  const env = ENV_LINE.exec(text);
  if (env && !trimmed.startsWith("@")) {
    handleEnvLine(state, line, env[1] ?? "", env[2] ?? "");
    return;
  }
  if (trimmed.startsWith("@")) {
    const [nickname = "", ...rest] = trimmed.split(/\s+/);
    const command = trimmed.slice(nickname.length).trim();
    const expression = NICKNAMES[nickname.toLowerCase()];
    if (nickname.toLowerCase() === "@reboot") {
      note(
        state,
        line,
        "@reboot is not carried over: orchestrator has no run-at-boot trigger (start the command from your service manager, e.g. a systemd unit)",
      );
      state.out.push(`  # ${comment(trimmed)}`);
    } else if (expression === undefined || rest.length === 0) {
      note(
        state,
        line,
        `not carried over: ${expression === undefined ? `unknown nickname ${nickname}` : "no command after the nickname"}`,
      );
      state.out.push(`  # ${comment(trimmed)}`);
    } else {
      emitEntry(state, line, expression, command, trimmed);
    }
    return;
  }
  const entry = ENTRY_LINE.exec(text);
  if (!entry) {
    note(
      state,
      line,
      "not carried over: neither a comment, an environment line nor a schedule with a command",
    );
    state.out.push(`  # ${comment(trimmed)}`);
    return;
  }
  emitEntry(state, line, (entry[1] ?? "").split(/\s+/).join(" "), entry[2] ?? "", trimmed);
}

/**
 * Converts crontab text (`crontab -l` output) into a schedule file, keeping
 * its comments and saying line by line what could not be carried over.
 *
 * Carried: entries (5 fields or a nickname; commands run with `shell: true`,
 * or with `SHELL` as argv when it is not /bin/sh), environment lines (as each
 * following task's `env`, in order, as cron applies them), `CRON_TZ`/`TZ` (the
 * `timezone` of following entries), `%` (stdin), `\%`, `RANDOM_DELAY`
 * (`jitterMs`), `MAILTO`/`MAILFROM` (`notify.email` on failure: cron mails
 * any output, orchestrator mails failures). Not carried, with a note: `@reboot`,
 * lines that are not valid entries (kept as comments).
 */
export function importCrontab(text: string, options: ImportCrontabOptions = {}): CrontabImport {
  const state: ImportState = {
    out: [],
    notes: [],
    names: new Set(),
    env: new Map(),
    envAnchor: undefined,
    anchors: 0,
    timezone: undefined,
    shell: "/bin/sh",
    jitterMs: undefined,
    tasks: 0,
    mailto: [],
    mailfrom: undefined,
  };
  text.split(/\r?\n/).forEach((line, index) => handleLine(state, index + 1, line));
  while (state.out.at(-1) === "") state.out.pop();
  const header = [
    `# Imported from ${options.source ?? "a crontab"} by \`orchestrator import-crontab\`.`,
    "# Crontab commands are shell lines, so tasks run them with `shell: true` (/bin/sh -c).",
    "# Unlike cron, which starts commands with a minimal environment, tasks inherit",
    "# the daemon's environment, plus the `env` shown (crontab environment lines).",
    "# Entries without a `timezone` run in the daemon's time zone, as in cron.",
  ];
  const body = state.tasks === 0 ? ["tasks: []", ...state.out] : ["tasks:", ...state.out];
  return {
    yaml: `${[...header, ...body].join("\n")}\n`,
    notes: state.notes,
    taskCount: state.tasks,
  };
}
