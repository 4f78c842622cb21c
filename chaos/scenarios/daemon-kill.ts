/**
 * The CLI daemon (`orchestrator run schedule.yaml`, SQLite store) SIGKILLed
 * while its command tasks run, and restarted with the same node id: it finds
 * the runs of its previous process, records them interrupted and retries
 * them. Each command logs `start`/`end` with its shell's pid, so the suite
 * sees whether a command of the killed daemon was still running beside the
 * retry of its run (`orphans`), whether a slot's command ran to completion
 * twice (`twice`), and whether any command is still alive at the end
 * (`leftAlive`); history is checked like every other scenario's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { RunRecord } from "../../src/store/store.js";
import { check, clockTime, historyLateness } from "../checker.js";
import { killPid, onCleanup } from "../cleanup.js";
import {
  readHistory,
  sleepUntil,
  within,
  type Scenario,
  type ScenarioOutcome,
  type SuiteEnv,
} from "../harness.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const PERIOD_MS = 6_000;
const SLOTS = 4;
const TASKS = 10;
const COMMAND_SECONDS = 5;

interface Command {
  readonly task: string;
  readonly pid: number;
  readonly start: number;
  /** When it ended: it completed, or was stopped (SIGTERM, logged by its trap). */
  end: number | undefined;
  /** Stopped before completing (by the daemon that recovered its run, or by a graceful stop). */
  stopped: boolean;
}

/** The commands' log: `start|end|stopped <task> <pid> <epoch ms>` lines. */
function readCommands(file: string): Command[] {
  if (!existsSync(file)) return [];
  const commands = new Map<string, Command>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [kind, task, pid, at] = line.trim().split(" ");
    if (task === undefined || pid === undefined || at === undefined) continue;
    const key = `${task}:${pid}`;
    if (kind === "start")
      commands.set(key, {
        task,
        pid: Number(pid),
        start: Number(at),
        end: undefined,
        stopped: false,
      });
    else if (kind === "end" || kind === "stopped") {
      const command = commands.get(key);
      if (command !== undefined) {
        command.end = Number(at);
        command.stopped = kind === "stopped";
      }
    }
  }
  return [...commands.values()];
}

/** The slot of the history row of the command's task whose start is nearest the command's (within 1.5 s). */
function slotOf(command: Command, history: readonly RunRecord[]): number | undefined {
  let best: { slot: number; distance: number } | undefined;
  for (const row of history) {
    if (row.taskName !== command.task || row.startedAt === null) continue;
    if (row.status === "skipped" || row.status === "missed") continue;
    const distance = Math.abs(command.start - row.startedAt);
    if (distance < 1_500 && (best === undefined || distance < best.distance)) {
      best = { slot: row.scheduledAt, distance };
    }
  }
  return best?.slot;
}

/** True while the process group of a command's shell has a process. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // gone
  }
}

function schedule(dir: string, log: string, startAtMs: number, endAtMs: number): string {
  const lines = ["timezone: UTC", "historyMaxAge: off", "tasks:"];
  for (let i = 0; i < TASKS; i++) {
    lines.push(
      `  - name: cmd-${i}`,
      `    schedule: "*/${PERIOD_MS / 1000} * * * * *"`,
      // A SIGTERM (the recovering daemon stopping a dead one's command) is logged as the
      // command's end, so that "stopped before its retry started" can be checked. SIGPIPE is
      // ignored: the dead daemon's end of the output pipes is closed, and the shell's first
      // write there would kill it before its trap ran.
      `    command: 'trap "" PIPE; trap ''echo "stopped $TASK $$ $(date +%s%3N)" >> "$LOG"; exit 143'' TERM; echo "start $TASK $$ $(date +%s%3N)" >> "$LOG"; sleep ${COMMAND_SECONDS}; echo "end $TASK $$ $(date +%s%3N)" >> "$LOG"'`,
      "    shell: true",
      `    env: { TASK: cmd-${i}, LOG: ${JSON.stringify(log)} }`,
      `    startAt: "${new Date(startAtMs).toISOString()}"`,
      `    endAt: "${new Date(endAtMs).toISOString()}"`,
      ...(i % 2 === 0 ? ["    retries: { attempts: 2, backoffMs: 200, factor: 1 }"] : []),
    );
  }
  const file = join(dir, "schedule.yaml");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

class Daemon {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  readonly #forget: () => void;

  constructor(args: readonly string[], logFile: string) {
    const out = openSync(logFile, "a");
    this.child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", ...args], {
      cwd: REPO,
      stdio: ["ignore", "pipe", out],
      env: { ...process.env, ORCHESTRATOR_ENCRYPTION_KEY: "", ORCHESTRATOR_ENCRYPTION_KEYS: "" },
    });
    closeSync(out);
    const pid = this.child.pid;
    this.#forget = onCleanup(() => killPid(pid));
    this.exited = new Promise((resolve) =>
      this.child.once("exit", (code) => {
        this.#forget();
        resolve(code);
      }),
    );
    this.ready = new Promise<void>((resolve, reject) => {
      let text = "";
      this.child.stdout?.on("data", (chunk: Buffer) => {
        writeFileSync(logFile, chunk, { flag: "a" });
        text = (text + chunk.toString()).slice(-4096);
        if (/orchestrator running/.test(text)) resolve();
      });
      void this.exited.then((code) =>
        reject(new Error(`the daemon exited (${code}) before it ran`)),
      );
    });
    this.ready.catch(() => undefined);
  }

  kill(): Promise<number | null> {
    killPid(this.child.pid);
    return this.exited;
  }

  async stop(): Promise<number | null> {
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => killPid(this.child.pid), 20_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

async function run(env: SuiteEnv): Promise<ScenarioOutcome> {
  mkdirSync(env.dir, { recursive: true });
  const db = join(env.dir, "daemon.db");
  const log = join(env.dir, "commands.log");
  const daemonLog = join(env.dir, "daemon.log");
  const notes: string[] = [];
  // Commands run in process groups of their own: they outlive a SIGKILLed daemon, so the suite ends them.
  const forgetCommands = onCleanup(() => {
    for (const command of readCommands(log)) killGroup(command.pid);
  });

  const firstSlot = Math.ceil((Date.now() + 9_000) / PERIOD_MS) * PERIOD_MS;
  const startAtMs = firstSlot - 500;
  const endAtMs = firstSlot + (SLOTS - 1) * PERIOD_MS + 500;
  const slots = Array.from({ length: SLOTS }, (_, i) => firstSlot + i * PERIOD_MS);
  const file = schedule(env.dir, log, startAtMs, endAtMs);
  const args = [
    "run",
    file,
    "--store",
    `sqlite:${db}`,
    "--node-id",
    "chaos-daemon",
    "--history-max-age",
    "off",
    "--grace-ms",
    "15000",
  ];
  const rel = (ms: number): string =>
    `t${ms >= firstSlot ? "+" : "-"}${(Math.abs(ms - firstSlot) / 1000).toFixed(3)}s`;
  const note = (text: string): void => {
    notes.push(`${rel(Date.now())} ${text}`);
    env.log(`${rel(Date.now())} ${text}`);
  };
  const windowText = `${SLOTS} slots × ${TASKS} command tasks (every ${PERIOD_MS / 1000} s, sleep ${COMMAND_SECONDS} s), ${clockTime(slots[0] as number)}–${clockTime(slots[SLOTS - 1] as number)} UTC`;
  env.log(`window: ${windowText}`);

  let daemon = new Daemon(args, daemonLog);
  try {
    await within(daemon.ready, 60_000, "the daemon to run");
    note("daemon running");
    for (const k of [1, 2]) {
      // A kill whose time passed while the daemon was restarting (a loaded machine) is skipped:
      // the daemon would be killed before it ran anything.
      if (Date.now() > firstSlot + k * PERIOD_MS + 1_500) {
        note(`kill ${k} skipped: the daemon was still starting at its time`);
        continue;
      }
      await sleepUntil(firstSlot + k * PERIOD_MS + 500);
      const running = readCommands(log).filter((c) => c.end === undefined).length;
      note(`SIGKILL the daemon (${running} commands running)`);
      await daemon.kill();
      daemon = new Daemon(args, daemonLog);
      await within(daemon.ready, 60_000, "the restarted daemon to run");
      note("daemon running again");
    }
    await sleepUntil(endAtMs);

    // Drain: no claim held, no command running (retries included).
    const until = Date.now() + 45_000;
    for (;;) {
      const running = readCommands(log).filter((c) => c.end === undefined && groupAlive(c.pid));
      let held = -1;
      try {
        const sqlite = new Database(db, { readonly: true, timeout: 200 });
        held = (sqlite.prepare("select count(*) as n from claims").get() as { n: number }).n;
        sqlite.close();
      } catch {
        // busy: ask again
      }
      if (held === 0 && running.length === 0) break;
      if (Date.now() > until) {
        notes.push(
          `drain: ${held} claims held, ${running.length} commands running 45 s after endAt`,
        );
        break;
      }
      await sleep(250);
    }
    const code = await daemon.stop();
    note(`daemon stopped (exit code ${code})`);
  } finally {
    await daemon.kill();
  }

  const commands = readCommands(log);
  const leftAlive = commands.filter((c) => groupAlive(c.pid)).length;
  forgetCommands();
  // A command of the killed daemon still running when another command of its task started: beside its retry.
  let orphans = 0;
  const byTask = new Map<string, Command[]>();
  for (const c of commands) byTask.set(c.task, [...(byTask.get(c.task) ?? []), c]);
  const examples: string[] = [];
  for (const [task, list] of byTask) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 0; i < list.length; i++) {
      const a = list[i] as Command;
      const b = list.slice(i + 1).find((c) => c.start < (a.end ?? Number.POSITIVE_INFINITY));
      if (b === undefined) continue;
      orphans++;
      if (examples.length < 3) {
        examples.push(
          `${task}: pid ${a.pid} (${clockTime(a.start)}–${a.end === undefined ? "?" : clockTime(a.end)}) still running when pid ${b.pid} started at ${clockTime(b.start)}`,
        );
      }
    }
  }
  const history = await readHistory(new SqliteStore({ path: db }));
  // Commands that ran to completion, by slot: a command belongs to the attempt of its task that history says started nearest to it.
  const completed = new Map<string, Command[]>();
  let executions = 0;
  for (const c of commands) {
    const slot = slotOf(c, history) ?? Math.floor(c.start / PERIOD_MS) * PERIOD_MS;
    if (!slots.includes(slot)) continue;
    executions++;
    if (c.end === undefined || c.stopped) continue;
    const key = `${c.task}@${slot}`;
    completed.set(key, [...(completed.get(key) ?? []), c]);
  }
  // A command completed one after the other with its retry, where history records the slot
  // interrupted (the daemon was killed before it wrote the result): redone, at least once.
  const interrupted = new Set(
    history.filter((r) => r.status === "interrupted").map((r) => `${r.taskName}@${r.scheduledAt}`),
  );
  let twice = 0;
  let redone = 0;
  for (const [key, list] of completed) {
    if (list.length < 2) continue;
    const overlapping = list.some((a) =>
      list.some((b) => a !== b && a.start <= b.start && b.start < (a.end ?? 0)),
    );
    if (!overlapping && interrupted.has(key)) redone++;
    else twice++;
  }
  const tasks = Array.from({ length: TASKS }, (_, i) => ({
    name: `cmd-${i}`,
    retries: i % 2 === 0 ? 2 : 0,
  }));
  const checked = check({ tasks, slots, history, dbOffsetMs: 0 });
  const result = {
    ...checked,
    executions,
    twice,
    redone,
    lateness: historyLateness(history, slots),
    extra: { orphans, leftAlive },
    examples: { ...checked.examples, ...(examples.length > 0 ? { orphans: examples } : {}) },
  };
  notes.push(
    "lateness from history (startedAt − scheduledAt, the daemon's clock); early: not observable without a side-effect log",
  );
  return { result, window: windowText, notes };
}

export default {
  name: "daemon-kill",
  description:
    "CLI daemon on SQLite SIGKILLed twice while its command tasks run, restarted with its node id",
  run,
} satisfies Scenario;
