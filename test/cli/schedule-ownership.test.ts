import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ScheduleOwnership, scheduleSource } from "../../src/cli/schedule-ownership.js";
import type { Logger } from "../../src/logger.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { ManualClock } from "../../src/time/clock.js";
import { taskRecord } from "../store/contract-helpers.js";

// The removal rule of item 20 on one store shared by several "daemons" (one
// ScheduleOwnership each), without processes: see daemon-files.process.test.ts for
// the same with real daemons.

const HA = "a".repeat(64);
const HA2 = "e".repeat(64);
const HB = "b".repeat(64);

interface Line {
  readonly level: string;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, msg?: string): void => {
      lines.push({ level, msg: msg ?? "", fields });
    };
  return { logger: { info: at("info"), warn: at("warn"), error: at("error") }, lines };
}

async function sharedStore(): Promise<{ store: MemoryStore; clock: ManualClock }> {
  const store = new MemoryStore();
  const clock = new ManualClock("2030-06-01T12:00:00Z");
  await store.open({ nodeId: "test", clock });
  return { store, clock };
}

function daemon(store: MemoryStore, name: string, nodeId = `${name}:1`) {
  const { logger, lines } = capture();
  const path = `/srv/${name}.yaml`;
  const ownership = new ScheduleOwnership({
    store,
    logger,
    source: scheduleSource(undefined, name, path),
    nodeId,
    path,
  });
  /** One apply: adds the file's tasks the store lacks, removes what the rule allows. */
  const apply = async (sha: string, names: readonly string[]) => {
    const rule = await ownership.prepare(sha, names);
    const existing = new Set((await store.listTasks()).map((task) => task.name));
    const added = names.filter((n) => !existing.has(n));
    for (const n of added) {
      await store.putTask(taskRecord(n), { replace: false });
    }
    const removed = [...existing].filter((n) => !names.includes(n) && rule.mayRemove(n));
    for (const n of removed) await store.deleteTask(n);
    await ownership.settle(sha, {
      added,
      changed: [],
      removed,
      unchanged: names.filter((n) => existing.has(n)),
    });
    return { added, removed };
  };
  const warnings = () => lines.filter((l) => l.level === "warn").map((l) => l.msg);
  return { ownership, apply, lines, warnings };
}

async function names(store: MemoryStore): Promise<string[]> {
  return (await store.listTasks()).map((t) => t.name).sort();
}

describe("ScheduleOwnership", () => {
  it("scheduleSource: --node-id when given, else host and file path", () => {
    assert.equal(scheduleSource("node-7", "db-1", "/etc/s.yaml"), "node-7");
    assert.equal(scheduleSource(undefined, "db-1", "/etc/s.yaml"), "db-1:/etc/s.yaml");
  });

  it("two daemons with different files keep each other's tasks and warn, naming both files", async () => {
    const { store } = await sharedStore();
    const a = daemon(store, "a");
    const b = daemon(store, "b");
    await a.apply(HA, ["a1", "a2"]);
    assert.deepEqual(a.warnings(), []);

    // b applies its own file: a's tasks are not in it, and must stay.
    const first = await b.apply(HB, ["b1"]);
    assert.deepEqual(first.removed, []);
    assert.deepEqual(await names(store), ["a1", "a2", "b1"]);
    const warning = b.lines.find(
      (l) => l.level === "warn" && /DIFFERENT SCHEDULE FILE/.test(l.msg),
    );
    assert.ok(warning, JSON.stringify(b.lines));
    assert.match(warning.msg, /node a:1 runs \/srv\/a\.yaml \(sha256 aaaaaaaaaaaa\)/);
    assert.match(warning.msg, /this node runs \/srv\/b\.yaml \(sha256 bbbbbbbbbbbb\)/);

    // a reloads an edited file without a2: removes its own a2, keeps b1, and warns too.
    const reload = await a.apply(HA2, ["a1"]);
    assert.deepEqual(reload.removed, ["a2"]);
    assert.deepEqual(await names(store), ["a1", "b1"]);
    assert.ok(
      a.warnings().some((w) => /node b:1 runs \/srv\/b\.yaml/.test(w)),
      a.warnings().join("\n"),
    );

    // b "restarts" (a new node id, the same source) with its file: still keeps a1.
    const restarted = daemon(store, "b", "b:2");
    assert.deepEqual((await restarted.apply(HB, ["b1"])).removed, []);
    assert.deepEqual(await names(store), ["a1", "b1"]);

    const audit = await store.records.auditLog({ taskName: "a2" });
    assert.deepEqual(
      audit.map((e) => [e.actor, e.action, e.result]),
      [
        ["daemon:a:1", "remove", "ok"],
        ["daemon:a:1", "add", "ok"],
      ],
    );
    assert.match(audit[0]?.detail ?? "", /file \/srv\/a\.yaml \(sha256 eeeeeeeeeeee\)/);
  });

  it("a restarted daemon (new node id, same source) removes what its previous file added", async () => {
    const { store } = await sharedStore();
    await daemon(store, "a", "a:1").apply(HA, ["x", "y"]);
    const again = daemon(store, "a", "a:2");
    assert.deepEqual((await again.apply(HA2, ["x"])).removed, ["y"]);
    assert.deepEqual(await names(store), ["x"]);
    assert.deepEqual(again.warnings(), []);
  });

  it("a task added by the same file content elsewhere is removed only while no running daemon has another file", async () => {
    const { store, clock } = await sharedStore();
    const a = daemon(store, "a");
    const b = daemon(store, "b");
    await a.apply(HA, ["x", "y"]); // a adds x and y
    await b.apply(HA, ["x", "y"]); // b runs the same file: nothing to add, no warning
    assert.deepEqual(b.warnings(), []);

    // Both files lose y; b reloads first while a still runs the old file: y is a's, and stays.
    assert.deepEqual((await b.apply(HA2, ["x"])).removed, []);
    assert.deepEqual(await names(store), ["x", "y"]);

    // a stops for good; b reloads again: y came from the content b applied before, so it goes.
    await a.ownership.stop();
    clock.advance(1000);
    const c = daemon(store, "b", "b:2");
    await c.apply(HA, ["x", "y"]);
    assert.deepEqual((await c.apply(HA2, ["x"])).removed, ["y"]);
  });

  it("never removes a task with no recorded origin, or one written again since its origin was recorded", async () => {
    const { store } = await sharedStore();
    await store.putTask(taskRecord("from-a-program"), { replace: false });
    const a = daemon(store, "a");
    await a.apply(HA, ["x"]);
    // Someone else writes x again (another node, a program): a new record.
    const x = await store.getTask("x");
    await store.putTask(
      { ...(x ?? taskRecord("x")), createdAt: (x?.createdAt ?? 0) + 1 },
      { replace: true },
    );
    const result = await a.apply(HA2, []);
    assert.deepEqual(result.removed, []);
    assert.deepEqual(await names(store), ["from-a-program", "x"]);
    assert.ok(
      a.warnings().some((w) => /1 tasks not in this file have no recorded schedule file/.test(w)),
      a.warnings().join("\n"),
    );
  });

  it("a daemon that stopped cleanly or was not seen for a while is no conflict", async () => {
    const { store, clock } = await sharedStore();
    const a = daemon(store, "a");
    await a.apply(HA, ["a1"]);
    await a.ownership.stop();
    const b = daemon(store, "b");
    await b.apply(HB, ["b1"]);
    assert.deepEqual(b.warnings(), [], "a stopped");

    const c = daemon(store, "c");
    clock.advance(121_000); // b's record is now older than the live window
    await c.apply(HA2, ["c1"]);
    assert.deepEqual(c.warnings(), []);
    assert.deepEqual(await names(store), ["a1", "b1", "c1"]);
  });
});
