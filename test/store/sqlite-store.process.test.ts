/**
 * The SQLite store shared by processes: two child processes claiming on one
 * file (test/fixtures/sqlite-claimer.ts), and one SIGKILLed while it holds
 * claims. The in-process tests are in sqlite-store.test.ts.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { ManualClock } from "../../src/time/clock.js";
import { tempDb } from "../helpers/durable.js";
import { NODE_A, NODE_B } from "./contract-helpers.js";

const CLAIMER = fileURLToPath(new URL("../fixtures/sqlite-claimer.ts", import.meta.url));

const cleanups: (() => Promise<void>)[] = [];
after(() => Promise.all(cleanups.map((cleanup) => cleanup())));

/** A database path in a fresh temp folder, removed when the file's tests end. */
async function tempDbPath(): Promise<string> {
  const db = await tempDb();
  cleanups.push(db.cleanup);
  return db.path;
}

interface Child {
  readonly ready: Promise<void>;
  readonly done: Promise<{ nodeId: string; won: string[] }>;
  go(): void;
}

/** Starts the claimer fixture as a real child process on `path`. */
function startClaimer(
  path: string,
  nodeId: string,
  tasks: number,
  times: number,
  mode: "release" | "hold" = "release",
): Child & { readonly held: Promise<string[]>; kill(): void } {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", CLAIMER, path, nodeId, String(tasks), String(times), mode],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  let markHeld: (won: string[]) => void = () => {};
  const held = new Promise<string[]>((resolve) => (markHeld = resolve));
  let stdout = "";
  let stderr = "";
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    if (stdout.startsWith("ready\n")) markReady();
    const line = /^held (.*)$/m.exec(stdout);
    if (line?.[1] !== undefined) markHeld((JSON.parse(line[1]) as { won: string[] }).won);
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<{ nodeId: string; won: string[] }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const last = stdout.trim().split("\n").pop() ?? "";
      if (code !== 0 || !last.startsWith("{")) {
        reject(new Error(`claimer ${nodeId} exited with ${code}: ${stderr || stdout}`));
        return;
      }
      resolve(JSON.parse(last) as { nodeId: string; won: string[] });
    });
  });
  // A child that dies before "ready" must fail the test rather than hang it.
  const readyOrDead = Promise.race([ready, done.then(() => {})]);
  return {
    ready: readyOrDead,
    done,
    held: Promise.race([held, done.then(() => [])]),
    go: () => child.stdin.write("go\n"),
    kill: () => child.kill("SIGKILL"),
  };
}

describe("SqliteStore across processes", () => {
  it("two processes claiming the same 500 (task, time) keys on one file claim each exactly once", async (t) => {
    const path = await tempDbPath();
    const [tasks, times] = [10, 50];
    const children = [
      startClaimer(path, "proc-1", tasks, times),
      startClaimer(path, "proc-2", tasks, times),
    ];
    await Promise.all(children.map((child) => child.ready));
    for (const child of children) child.go();
    const results = await Promise.all(children.map((child) => child.done));

    const all = results.flatMap((result) => result.won);
    assert.equal(all.length, tasks * times, "claims in total");
    assert.equal(new Set(all).size, tasks * times, "every key exactly once");
    for (const result of results) t.diagnostic(`${result.nodeId} won ${result.won.length} keys`);

    const store = new SqliteStore({ path });
    await store.open({ nodeId: NODE_A, clock: new ManualClock() });
    try {
      const history = await store.history({ limit: 10_000 });
      assert.equal(history.length, tasks * times);
      assert.equal(
        new Set(history.map((row) => `${row.taskName}@${row.scheduledAt}`)).size,
        tasks * times,
      );
      const byNode = new Map(results.map((result) => [result.nodeId, new Set(result.won)]));
      for (const row of history) {
        assert.ok(
          byNode.get(row.nodeId)?.has(`${row.taskName}@${row.scheduledAt}`),
          "recorded by its claimer",
        );
      }
      assert.deepEqual(await store.reapExpiredClaims({ nodeId: NODE_A, atStart: true }), []);
    } finally {
      await store.close();
    }
  });

  it("a process SIGKILLed while holding claims leaves an intact file, and its claims expire", async () => {
    const path = await tempDbPath();
    const child = startClaimer(path, "doomed", 5, 20, "hold");
    await child.ready;
    child.go();
    const held = await child.held;
    assert.equal(held.length, 100);
    child.kill();
    await child.done.catch(() => {}); // killed: no JSON summary
    const db = new Database(path);
    assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
    db.close();
    // The claims carry 60 s leases on the real clock; look from a clock past them.
    const clock = new ManualClock(Date.now() + 61_000);
    const store = new SqliteStore({ path });
    await store.open({ nodeId: NODE_B, clock });
    try {
      const request = {
        taskName: "task-0",
        scheduledAt: Date.UTC(2030, 0, 1),
        nodeId: NODE_B,
        leaseMs: 1,
      };
      assert.equal(await store.claimRun(request), null, "still held by the dead node");
      const reaped = await store.reapExpiredClaims({ nodeId: NODE_B, atStart: false });
      assert.deepEqual(
        reaped.map((claim) => `${claim.taskName}@${claim.scheduledAt}`).sort(),
        [...held].sort(),
      );
      assert.ok(reaped.every((claim) => claim.nodeId === "doomed"));
      assert.equal(await store.claimRun(request), null, "a reaped run is not claimable again");
      assert.deepEqual(await store.reapExpiredClaims({ nodeId: NODE_B, atStart: false }), []);
    } finally {
      await store.close();
    }
  });
});
