/**
 * Real child scheduler processes on one SQLite file: two processes
 * running the same tasks never execute a (task, scheduled time) twice; a
 * process SIGKILLed at random points and restarted loses no scheduled run and
 * runs none twice beyond its retry policy. No sleeps: the parent waits on the
 * children's stdout lines; the verdict comes from history and from an
 * execution log each child appends to with one write(2) per run.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { generateKey } from "../../src/crypto/key-material.js";
import type { RunRecord } from "../../src/store/store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { SystemClock } from "../../src/time/clock.js";
import { tempDb } from "../helpers/durable.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/durable-scheduler.ts", import.meta.url));
const KEY = generateKey();

/** A child scheduler and the lines it printed. */
class Child {
  readonly process: ChildProcessWithoutNullStreams;
  ran = 0;
  readonly #waiters = new Set<() => void>();
  readonly #lines: string[] = [];
  readonly exited: Promise<unknown>;
  stderr = "";

  constructor(args: string[]) {
    this.process = spawn(process.execPath, ["--import", "tsx", FIXTURE, ...args], {
      env: { ...process.env, ORCHESTRATOR_ENCRYPTION_KEY: KEY },
    });
    this.exited = once(this.process, "exit");
    this.process.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: this.process.stdout }).on("line", (line) => {
      if (line === "ran") this.ran++;
      else this.#lines.push(line);
      for (const waiter of this.#waiters) waiter();
    });
    void this.exited.then(() => {
      for (const waiter of this.#waiters) waiter();
    });
  }

  /** Resolves once `predicate` holds (checked on every line); rejects if the child exits first. */
  async until(predicate: () => boolean, what: string): Promise<void> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    while (!predicate()) {
      if (exited || this.process.exitCode !== null) {
        throw new Error(`child exited before ${what}; stderr: ${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.#waiters.delete(wake);
          resolve();
        };
        this.#waiters.add(wake);
      });
    }
  }

  said(line: string): boolean {
    return this.#lines.includes(line);
  }

  async stop(): Promise<void> {
    this.process.stdin.write("stop\n");
    await this.until(() => this.said("stopped"), "stopped");
    await this.exited;
  }

  async kill(): Promise<void> {
    this.process.kill("SIGKILL");
    await this.exited;
  }
}

interface Execution {
  task: string;
  scheduledAt: number;
  attempt: number;
  nodeId: string;
}

function readExecutions(log: string): Execution[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const [task = "", at = "", attempt = "", nodeId = ""] = line.split(" ");
      return { task, scheduledAt: Number(at), attempt: Number(attempt), nodeId };
    });
}

async function readHistory(path: string): Promise<RunRecord[]> {
  const store = new SqliteStore({ path });
  await store.open({ nodeId: "reader", clock: new SystemClock() });
  try {
    return await store.history({ limit: 1_000_000 });
  } finally {
    await store.close();
  }
}

function group<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list === undefined) map.set(k, [item]);
    else list.push(item);
  }
  return map;
}

describe("scheduler processes on one SQLite file", () => {
  it("two processes running the same tasks never execute a (task, scheduled time) twice", async (t) => {
    const db = await tempDb();
    const log = join(db.dir, "executions.log");
    try {
      const args = (node: string): string[] => [db.path, node, "10", "100", "0", log];
      const children = [new Child(args("node-1")), new Child(args("node-2"))];
      await Promise.all(children.map((c) => c.until(() => c.said("ready"), "ready")));
      const total = (): number => children.reduce((sum, c) => sum + c.ran, 0);
      // Wake both on every line of either.
      await Promise.race(children.map((c) => c.until(() => total() >= 400, "400 runs")));
      await Promise.all(children.map((c) => c.stop()));

      const executions = readExecutions(log);
      const perKey = group(executions, (e) => `${e.task}@${e.scheduledAt}`);
      const twice = [...perKey].filter(([, list]) => list.length > 1);
      assert.deepEqual(twice, [], "no (task, time) executed twice");
      assert.ok(executions.length >= 400);
      const byNode = group(executions, (e) => e.nodeId);
      t.diagnostic(
        `executions: ${[...byNode].map(([node, list]) => `${node} ${list.length}`).join(", ")}`,
      );

      const history = await readHistory(db.path);
      const succeeded = group(
        history.filter((row) => row.status === "succeeded"),
        (row) => `${row.taskName}@${row.scheduledAt}`,
      );
      for (const [key, rows] of succeeded) assert.equal(rows.length, 1, key);
      for (const key of perKey.keys()) assert.ok(succeeded.has(key), `history has ${key}`);
    } finally {
      await db.cleanup();
    }
  });

  it("another node reaps the expired leases of a killed node, records its runs interrupted and retries them", async (t) => {
    const db = await tempDb();
    const log = join(db.dir, "executions.log");
    try {
      const args = (node: string): string[] => [db.path, node, "8", "100", "1", log];
      const victim = new Child(args("victim"));
      await victim.until(() => victim.ran >= 30, "30 runs");
      await victim.kill();
      const killedAt = readExecutions(log).length;
      // A different node id: it cannot reap the victim's claims at start, only once their leases expire.
      const heir = new Child(args("heir"));
      const retried = (): Execution[] =>
        readExecutions(log)
          .slice(killedAt)
          .filter((e) => e.nodeId === "heir" && e.attempt === 2);
      const history = async (): Promise<RunRecord[]> => readHistory(db.path);
      await heir.until(() => retried().length > 0, "a retry of an interrupted run");
      await heir.stop();
      const rows = await history();
      const interrupted = rows.filter((row) => row.status === "interrupted");
      assert.ok(interrupted.length > 0);
      for (const row of interrupted) {
        assert.equal(row.nodeId, "victim");
        assert.match(row.error?.message ?? "", /lease of node "victim"/);
      }
      for (const e of retried()) {
        assert.ok(
          interrupted.some((row) => row.taskName === e.task && row.scheduledAt === e.scheduledAt),
          `${e.task}@${e.scheduledAt} retried without an interruption`,
        );
      }
      t.diagnostic(
        `${interrupted.length} interrupted runs of the killed node, ${retried().length} retried`,
      );
    } finally {
      await db.cleanup();
    }
  });

  it("SIGKILLed at random points and restarted, it loses no scheduled run and repeats none beyond its retry policy", async (t) => {
    const db = await tempDb();
    const log = join(db.dir, "executions.log");
    const everyMs = 100;
    const retries = 2;
    try {
      const args = [db.path, "crashy", "8", String(everyMs), String(retries), log];
      for (let round = 0; round < 6; round++) {
        const child = new Child(args);
        const killAfter = 5 + Math.floor(Math.random() * 60);
        await child.until(() => child.ran >= killAfter, `${killAfter} runs`);
        await child.kill();
      }
      const last = new Child(args);
      await last.until(() => last.said("ready") && last.ran >= 40, "40 runs");
      await last.stop();

      const history = await readHistory(db.path);
      const executions = readExecutions(log);
      const rowsByKey = group(history, (row) => `${row.taskName}@${row.scheduledAt}`);
      const execByKey = group(executions, (e) => `${e.task}@${e.scheduledAt}`);

      // Nothing ran twice beyond the policy: each execution of an occurrence is a
      // distinct attempt, every repeat follows an interrupted attempt, at most 1 + retries.
      let repeated = 0;
      for (const [key, list] of execByKey) {
        const attempts = list.map((e) => e.attempt);
        assert.equal(new Set(attempts).size, attempts.length, `${key}: an attempt ran twice`);
        assert.ok(list.length <= 1 + retries, `${key}: ${list.length} executions`);
        const rows = rowsByKey.get(key) ?? [];
        const interrupted = rows.filter((row) => row.status === "interrupted").length;
        assert.ok(list.length <= 1 + interrupted, `${key}: repeated without an interruption`);
        assert.ok(
          rows.filter((row) => row.status === "succeeded").length <= 1,
          `${key}: succeeded twice`,
        );
        if (list.length > 1) repeated++;
      }

      // Nothing lost: every occurrence of every task, from its first to its last, has a row.
      let lost = 0;
      let missed = 0;
      let interruptedRuns = 0;
      for (const [task, rows] of group(history, (row) => row.taskName)) {
        const times = rows.map((row) => row.scheduledAt);
        const first = Math.min(...times);
        const lastAt = Math.max(...times, ...rows.map((row) => row.missedThrough ?? 0));
        const seen = new Set(times);
        // A missed row may stand for consecutive missed occurrences, up to missedThrough.
        for (const row of rows) {
          for (let at = row.scheduledAt; at <= (row.missedThrough ?? 0); at += everyMs)
            seen.add(at);
        }
        for (let at = first; at <= lastAt; at += everyMs) {
          if (!seen.has(at)) lost++;
          assert.ok(
            seen.has(at),
            `${task}@${at} has no history row: ${JSON.stringify(rows.filter((r) => Math.abs(r.scheduledAt - at) < 1000).map((r) => [r.scheduledAt - at, r.status, r.attempt, r.missedThrough === undefined ? null : r.missedThrough - at, r.nodeId, r.error?.message]))}`,
          );
        }
        missed += rows.filter((row) => row.status === "missed").length;
        interruptedRuns += rows.filter((row) => row.status === "interrupted").length;
      }
      for (const row of history) {
        assert.ok(
          ["succeeded", "missed", "skipped", "interrupted"].includes(row.status),
          `unexpected ${row.status}: ${JSON.stringify(row)}`,
        );
      }
      // Every executed occurrence ended: succeeded, or interrupted with its retries spent.
      for (const [key, list] of execByKey) {
        const rows = rowsByKey.get(key) ?? [];
        const done =
          rows.some((row) => row.status === "succeeded") ||
          rows.filter((row) => row.status === "interrupted").length >= 1 + retries ||
          list.length === 0;
        assert.ok(
          done,
          `${key}: neither succeeded nor retried per policy: ${JSON.stringify(rows)}`,
        );
      }
      assert.equal(lost, 0);
      t.diagnostic(
        `${history.length} rows, ${executions.length} executions, ${missed} missed, ` +
          `${interruptedRuns} interrupted, ${repeated} occurrences retried after an interruption`,
      );
    } finally {
      await db.cleanup();
    }
  });
});
