import { Command, CommanderError, Option } from "commander";
import { generateKey } from "../crypto/key-material.js";
import { SystemClock, type Clock } from "../time/clock.js";
import { runBackupCommand } from "./commands/backup-command.js";
import { runImportCrontabCommand, runValidateCommand } from "./commands/file-commands.js";
import { runCancelCommand } from "./commands/cancel-command.js";
import { EXIT, processIO, type CommandIO } from "./commands/io.js";
import { runNextCommand } from "./commands/next-command.js";
import { runPlanCommand, type PlanCommandOptions } from "./commands/plan-command.js";
import { runRemoveCommand } from "./commands/remove-command.js";
import type { StoreCommandContext } from "./commands/store-access.js";
import {
  runHistoryCommand,
  runListCommand,
  runPauseResumeCommand,
  runRotateKeysCommand,
  runTriggerCommand,
} from "./commands/store-commands.js";
import { runDaemon, type DaemonContext } from "./daemon.js";
import { DEFAULT_GRACE_MS, type RunFlags } from "./run-options.js";
import { DEFAULT_STORE } from "./store-url.js";
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
    .command("run")
    .description("Run a schedule in the foreground (Ctrl-C to stop; SIGHUP reloads the file)")
    .argument(
      "[schedule]",
      "schedule file (YAML or JSON); without one, the store's tasks run as they are",
    )
    .option("--store <url>", "sqlite:<path> or postgres://user@host/db?schema=name", DEFAULT_STORE)
    .option("--http <host:port>", "serve the dashboard, JSON API and /metrics, e.g. 127.0.0.1:8080")
    .option(
      "--http-allowed-host <name>",
      "another name the dashboard answers to (a proxy's, e.g. dash.example.com; .example.com for subdomains); repeatable",
      (name: string, names: string[] = []) => [...names, name],
    )
    .option(
      "--http-trust-proxy",
      "behind a TLS-terminating reverse proxy you control: believe its X-Forwarded-Proto (https), so that logins and actions from https pages work",
    )
    .option(
      "--node-id <id>",
      "this node's id in claims and run history, unique among live daemons on one store (default: host/database, e.g. web-1/orchestrator.db)",
    )
    .option("--log-format <format>", "pretty (for people) or json (one object per line)", "pretty")
    .option("--watch", "reload the schedule file when it changes")
    .option(
      "--grace-ms <ms>",
      "on SIGINT/SIGTERM, wait this long for running runs before killing them",
      String(DEFAULT_GRACE_MS),
    )
    .option(
      "--history-max-age <duration>",
      'delete run history older than this: "30d", "12h", ms, or "off" (default: the file\'s historyMaxAge, else 30d)',
    )
    .option(
      "--heartbeat-url <url>",
      "ping this URL (healthchecks.io, Uptime Kuma…) while the scheduler is healthy, so that silence raises an alarm (overrides the file's heartbeat)",
    )
    .option(
      "--heartbeat-every <duration>",
      'how often to ping --heartbeat-url: "30s", "1m" (default 1m)',
    )
    .addHelpText(
      "after",
      `
The encryption key comes from ORCHESTRATOR_ENCRYPTION_KEY (or a keyring in
ORCHESTRATOR_ENCRYPTION_KEYS); with SQLite and neither set, a key file is created
beside the database (orchestrator.db.key, mode 0600). The dashboard's admin token
comes from ORCHESTRATOR_TOKEN (on a loopback address without one, a login link is
printed); ORCHESTRATOR_READ_TOKEN is a second token that may only view.

Examples:
  $ orchestrator run examples/schedule.yaml --http 127.0.0.1:8080
  $ orchestrator run schedule.yaml --store sqlite:/var/lib/orchestrator/tasks.db --watch
  $ orchestrator run schedule.yaml --store "postgres://app@db:5432/app?schema=jobs" --log-format json`,
    )
    .action(async (file: string | undefined, options: RunFlags) =>
      exit(await runDaemon(file, options, daemonContext(io, clock))),
    );

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
    .command("plan")
    .description("List what a schedule file would run when, in order, before it is deployed")
    .argument("<schedule>", "schedule file (YAML or JSON), checked as `run` checks it")
    .option(
      "--from <time>",
      "start of the window (default: now); ISO 8601, or a local date/time in --tz",
    )
    .option("--to <time>", "end of the window, excluded (default: 24 h after --from)")
    .option("--tz <zone>", "IANA time zone to show local times in (default: this machine's)")
    .option("--limit <n>", "the most runs listed", "1000")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Runs moved or repeated by daylight saving are marked, and each change that
moves, drops or repeats a run is explained after the list.

Examples:
  $ orchestrator plan schedule.yaml
  $ orchestrator plan schedule.yaml --from 2024-03-09 --to 2024-03-11 --tz America/New_York
  $ orchestrator plan schedule.yaml --json`,
    )
    .action(async (file: string, options: PlanCommandOptions) =>
      exit(await runPlanCommand(file, options, io, clock)),
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

  const storeContext = (): StoreCommandContext => ({
    io,
    clock,
    env: process.env,
    cwd: process.cwd(),
    signals: process,
  });
  const storeOption = (): Option =>
    new Option("--store <url>", "sqlite:<path> or postgres://user@host/db?schema=name").default(
      DEFAULT_STORE,
    );

  program
    .command("list")
    .description("List the tasks in the store: schedule, next run, last status, state")
    .addOption(storeOption())
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  $ orchestrator list\n  $ orchestrator list --store sqlite:/var/lib/orchestrator/tasks.db --json",
    )
    .action(async (options: { store: string; json?: boolean }) =>
      exit(await runListCommand(options, storeContext())),
    );

  program
    .command("history")
    .description("Show run history, newest first (all tasks, or one)")
    .argument("[task]", "only this task's runs")
    .addOption(storeOption())
    .option("--limit <n>", "how many runs", "20")
    .option("--offset <n>", "skip the newest n matching runs (older pages)", "0")
    .option("--status <list>", "only runs of these statuses, comma-separated (failed,cancelled)")
    .option("--json", "print JSON (with each run's output)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ orchestrator history\n  $ orchestrator history backup --limit 5 --json\n  $ orchestrator history backup --status failed,timed-out --limit 20 --offset 20",
    )
    .action(
      async (
        task: string | undefined,
        options: { store: string; limit: string; offset: string; status?: string; json?: boolean },
      ) => exit(await runHistoryCommand(task, options, storeContext())),
    );

  program
    .command("trigger")
    .description(
      "Run a task now, in this process, with the daemon's handlers; the run goes into the history",
    )
    .argument("<task>", "task name")
    .addOption(storeOption())
    .addHelpText(
      "after",
      "\nExit code 0 when the run succeeded, 1 when it failed, 2 for an unknown task.\n\nExample:\n  $ orchestrator trigger backup",
    )
    .action(async (task: string, options: { store: string }) =>
      exit(await runTriggerCommand(task, options, storeContext())),
    );

  for (const action of ["pause", "resume"] as const) {
    program
      .command(action)
      .description(
        action === "pause"
          ? "Pause a task: no scheduled runs until resumed (a running daemon on the store follows within a second)"
          : "Resume a paused task from now on",
      )
      .argument("<task>", "task name")
      .addOption(storeOption())
      .addHelpText("after", `\nExample:\n  $ orchestrator ${action} backup`)
      .action(async (task: string, options: { store: string }) =>
        exit(await runPauseResumeCommand(action, task, options, storeContext())),
      );
  }

  program
    .command("cancel")
    .description(
      "Cancel a task's running run in the daemon on the store: its signal aborts, a command's process group is stopped, the run is recorded cancelled",
    )
    .argument("<task>", "task name")
    .addOption(storeOption())
    .addHelpText(
      "after",
      "\nWaits up to 5 s for a daemon to take the request. Exit code 0 when cancelled, 1 when nothing\nwas running, 2 for an unknown task.\n\nExample:\n  $ orchestrator cancel backup",
    )
    .action(async (task: string, options: { store: string }) =>
      exit(await runCancelCommand(task, options, storeContext())),
    );

  program
    .command("remove")
    .description(
      "Delete a task from the store (its history stays; a running daemon on the store drops it)",
    )
    .argument("<task>", "task name")
    .addOption(storeOption())
    .option(
      "--force",
      "also when a schedule file defines it (the daemon adds it back at its next reload)",
    )
    .addHelpText(
      "after",
      "\nA task the daemon added from a schedule file is refused without --force: remove it from the\nfile and reload instead. Exit code 0 when removed, 2 when refused or unknown.\n\nExample:\n  $ orchestrator remove old-report",
    )
    .action(async (task: string, options: { store: string; force?: boolean }) =>
      exit(await runRemoveCommand(task, options, storeContext())),
    );

  program
    .command("backup")
    .description(
      "Copy a SQLite store to <file> while the daemon runs (SQLite's online backup; checked, mode 0600)",
    )
    .argument("<file>", "where the copy goes (refused if it exists, unless --force)")
    .addOption(storeOption())
    .option("--force", "replace an existing file")
    .addHelpText(
      "after",
      "\nThe copy is useless without the encryption key (the .key file beside the database, or\nORCHESTRATOR_ENCRYPTION_KEY): back it up too, kept apart. For PostgreSQL use pg_dump.\n\nExample:\n  $ orchestrator backup /var/backups/orchestrator-$(date +%F).db --store sqlite:/var/lib/orchestrator/tasks.db",
    )
    .action(async (file: string, options: { store: string; force?: boolean }) =>
      exit(await runBackupCommand(file, options, storeContext())),
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
  keys
    .command("rotate")
    .description(
      "Re-seal every stored task record with the primary key (the first of ORCHESTRATOR_ENCRYPTION_KEYS)",
    )
    .addOption(storeOption())
    .addHelpText(
      "after",
      '\nExample (the old key as it was given, so that its id stays the same: bare, or with the id it had):\n  $ ORCHESTRATOR_ENCRYPTION_KEYS="$(orchestrator keys generate --id 2026-12),$OLD_KEY" orchestrator keys rotate',
    )
    .action(async (options: { store: string }) =>
      exit(await runRotateKeysCommand(options, storeContext())),
    );

  return program;
}

function daemonContext(io: CommandIO, clock: Clock): DaemonContext {
  return {
    io,
    clock,
    env: process.env,
    cwd: process.cwd(),
    signals: process,
    rejections: process,
    exitNow: (code) => process.exit(code),
  };
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
