import { readFile, writeFile } from "node:fs/promises";
import { importCrontab } from "../import-crontab.js";
import { loadScheduleOffThread } from "../load-schedule-off-thread.js";
import { formatScheduleError, formatScheduleWarning } from "../schedule-file.js";
import type { Clock } from "../../time/clock.js";
import { EXIT, type CommandIO } from "./io.js";

/**
 * `orchestrator validate <file>`: everything `run` checks before applying a
 * file (run in a worker thread, as the daemon does), every error and warning
 * with file, line and column; exit 1 when there is any error.
 */
export async function runValidateCommand(
  file: string,
  io: CommandIO,
  clock: Clock,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  const result = await loadScheduleOffThread(file, {
    nowMs: clock.nowMs(),
    envNames: Object.keys(env).filter((name) => env[name] !== undefined),
  });
  for (const warning of result.warnings) io.stderr(`${formatScheduleWarning(warning)}\n`);
  const warned =
    result.warnings.length === 0 ? "" : `, ${plural(result.warnings.length, "warning")}`;
  if (!result.ok) {
    for (const error of result.errors) io.stderr(`${formatScheduleError(error)}\n`);
    io.stderr(`${file}: ${plural(result.errors.length, "error")}${warned}\n`);
    return EXIT.invalid;
  }
  io.stdout(`${file}: valid, ${plural(result.schedule.tasks.length, "task")}${warned}\n`);
  return EXIT.ok;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** Reads all of standard input. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * `orchestrator import-crontab [file|-] [-o out.yaml]`: a crontab turned into a
 * schedule file, and on stderr, line by line, what could not be carried over.
 */
export async function runImportCrontabCommand(
  file: string | undefined,
  options: { readonly output?: string },
  io: CommandIO,
): Promise<number> {
  const source = file === undefined || file === "-" ? "standard input" : file;
  let text: string;
  try {
    text = source === "standard input" ? await readStdin() : await readFile(source, "utf8");
  } catch (error) {
    io.stderr(
      `error: cannot read ${source}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return EXIT.usage;
  }
  const result = importCrontab(text, { source });
  if (options.output) await writeFile(options.output, result.yaml);
  else io.stdout(result.yaml);
  for (const note of result.notes) io.stderr(`${source}:${note.line}: ${note.message}\n`);
  io.stderr(
    `${result.taskCount} task${result.taskCount === 1 ? "" : "s"} imported` +
      (result.notes.length
        ? `, ${result.notes.length} note${result.notes.length === 1 ? "" : "s"} above`
        : "") +
      (options.output ? `; written to ${options.output}` : "") +
      "\n",
  );
  return EXIT.ok;
}
