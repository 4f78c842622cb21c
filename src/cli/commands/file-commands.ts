import { readFile, writeFile } from "node:fs/promises";
import { importCrontab } from "../import-crontab.js";
import { formatScheduleError, loadScheduleFile } from "../schedule-file.js";
import type { Clock } from "../../time/clock.js";
import { EXIT, type CommandIO } from "./io.js";

/** `orchestrator validate <file>`: every error with file, line and column; exit 1 when invalid. */
export async function runValidateCommand(
  file: string,
  io: CommandIO,
  clock: Clock,
): Promise<number> {
  const result = await loadScheduleFile(file, { now: () => clock.nowMs() });
  if (!result.ok) {
    for (const error of result.errors) io.stderr(`${formatScheduleError(error)}\n`);
    io.stderr(`${file}: ${result.errors.length} error${result.errors.length === 1 ? "" : "s"}\n`);
    return EXIT.invalid;
  }
  const n = result.schedule.tasks.length;
  io.stdout(`${file}: valid, ${n} task${n === 1 ? "" : "s"}\n`);
  return EXIT.ok;
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
