import { Command, CommanderError, Option } from "commander";
import { generateKey } from "../crypto/key-material.js";
import { SystemClock, type Clock } from "../time/clock.js";
import { runImportCrontabCommand, runValidateCommand } from "./commands/file-commands.js";
import { EXIT, processIO, type CommandIO } from "./commands/io.js";
import { runNextCommand } from "./commands/next-command.js";
import { VERSION } from "./version.js";

/** Builds the `orchestrator` command line; `exit` receives each command's exit code. */
export function buildProgram(io: CommandIO, clock: Clock, exit: (code: number) => void): Command {
  const program = new Command("orchestrator")
    .description(
      "A task scheduler: cron in any time zone, durable tasks, clusters with exactly-once runs.",
    )
    .version(VERSION, "-V, --version")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");

  program
    .command("next")
    .description("Print the next runs of a cron expression and what it means")
    .argument("<expression>", 'a cron expression, quoted: "*/15 9-17 * * MON-FRI"')
    .option("-n, --count <n>", "how many runs", "10")
    .option("--tz <zone>", "IANA time zone the expression is read in (default: this machine's)")
    .option("--from <iso>", "start after this instant (default: now)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ orchestrator next "30 2 * * *" --tz America/New_York --from 2024-03-10T00:00:00Z -n 3
  $ orchestrator next "0 9 * * MON-FRI" --tz Europe/Berlin --json
  $ orchestrator next "@hourly"`,
    )
    .action(
      (
        expression: string,
        options: { count: string; tz?: string; from?: string; json?: boolean },
      ) => {
        exit(runNextCommand(expression, options, io, clock));
      },
    );

  program
    .command("validate")
    .description("Check a schedule file: every error with file, line and column")
    .argument("<file>", "schedule file (YAML or JSON)")
    .addHelpText(
      "after",
      "\nExit code 0 when valid, 1 when invalid.\n\nExample:\n  $ orchestrator validate examples/schedule.yaml",
    )
    .action(async (file: string) => exit(await runValidateCommand(file, io, clock)));

  program
    .command("import-crontab")
    .description(
      "Turn a crontab (crontab -l output) into a schedule file, saying what could not be carried over",
    )
    .argument("[file]", "crontab file, or - for standard input", "-")
    .option("-o, --output <file>", "write the schedule file here instead of standard output")
    .addHelpText(
      "after",
      "\nExamples:\n  $ crontab -l | orchestrator import-crontab > schedule.yaml\n  $ orchestrator import-crontab /etc/crontab -o schedule.yaml",
    )
    .action(async (file: string, options: { output?: string }) =>
      exit(await runImportCrontabCommand(file, options, io)),
    );

  const keys = program.command("keys").description("Encryption keys for stored task records");
  keys
    .command("generate")
    .description("Print a new random 256-bit key (base64) for ORCHESTRATOR_ENCRYPTION_KEY")
    .addOption(
      new Option("--id <id>", "print it as an id:key entry for ORCHESTRATOR_ENCRYPTION_KEYS"),
    )
    .addHelpText(
      "after",
      '\nExamples:\n  $ export ORCHESTRATOR_ENCRYPTION_KEY="$(orchestrator keys generate)"\n  $ orchestrator keys generate --id 2026-11',
    )
    .action((options: { id?: string }) => {
      io.stdout(`${options.id ? `${options.id}:` : ""}${generateKey()}\n`);
      exit(EXIT.ok);
    });

  return program;
}

/** Runs the command line and resolves with the exit code. */
export async function main(
  argv: readonly string[],
  io: CommandIO = processIO(),
  clock: Clock = new SystemClock(),
): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, clock, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage errors exit 2.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    io.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.usage;
  }
  return code;
}
