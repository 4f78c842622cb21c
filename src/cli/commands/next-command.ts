import { CronSyntaxError, OrchestratorError } from "../../errors.js";
import { parseCron } from "../../cron/index.js";
import type { Clock } from "../../time/clock.js";
import { EXIT, type CommandIO } from "./io.js";

/** Options of `orchestrator next`. */
export interface NextCommandOptions {
  readonly count: string;
  readonly tz?: string;
  readonly from?: string;
  readonly json?: boolean;
}

/** Two lines that point at the bad column: the expression, then a caret under it. */
export function caretLines(expression: string, column: number, indent = "  "): string {
  const at = Math.max(0, Math.min(column, expression.length));
  return `${indent}${expression}\n${indent}${" ".repeat(at)}^\n`;
}

/**
 * `orchestrator next "<expression>"`: the next runs and the expression in
 * words. An invalid expression prints the error with a caret under the bad
 * column and returns exit code 2.
 */
export function runNextCommand(
  expression: string,
  options: NextCommandOptions,
  io: CommandIO,
  clock: Clock,
): number {
  const count = Number(options.count);
  if (!Number.isSafeInteger(count) || count < 1 || count > 10_000) {
    io.stderr(
      `error: -n/--count must be a whole number from 1 to 10000, got ${JSON.stringify(options.count)}\n`,
    );
    return EXIT.usage;
  }
  let from = clock.now();
  if (options.from !== undefined) {
    from = new Date(options.from);
    if (Number.isNaN(from.getTime())) {
      io.stderr(
        `error: --from must be an ISO 8601 instant such as 2024-03-10T05:30:00Z, got ${JSON.stringify(options.from)}\n`,
      );
      return EXIT.usage;
    }
  }
  try {
    const cron = parseCron(expression, { timezone: options.tz });
    const runs = cron.nextRuns(count, from);
    if (options.json) {
      io.stdout(
        JSON.stringify(
          {
            expression,
            timezone: cron.timezone,
            description: cron.describe(),
            runs: runs.map((r) => r.toISOString()),
          },
          null,
          2,
        ) + "\n",
      );
      return EXIT.ok;
    }
    io.stdout(`${cron.describe()} (${cron.timezone})\n`);
    if (runs.length === 0) io.stdout("  never fires after that instant\n");
    const local = new Intl.DateTimeFormat("sv-SE", {
      timeZone: cron.timezone,
      dateStyle: "short",
      timeStyle: "medium",
    });
    const weekday = new Intl.DateTimeFormat("en-US", { timeZone: cron.timezone, weekday: "short" });
    for (const run of runs) {
      io.stdout(`  ${run.toISOString()}  ${weekday.format(run)} ${local.format(run)} local\n`);
    }
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CronSyntaxError) {
      io.stderr(`error: ${error.message}\n${caretLines(expression, error.column)}`);
      return EXIT.usage;
    }
    if (error instanceof OrchestratorError) {
      io.stderr(`error: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
}
