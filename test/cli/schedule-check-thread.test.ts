import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadScheduleOffThread } from "../../src/cli/load-schedule-off-thread.js";
import { checkScheduleFile, formatScheduleError } from "../../src/cli/schedule-file.js";
import { ScheduleReloader } from "../../src/cli/schedule-reloader.js";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { NOW } from "./helpers.js";
import { ScheduleOwnership, scheduleSource } from "../../src/cli/schedule-ownership.js";

// Issue 13, item 12: a schedule file is read and checked in a worker thread,
// so that a reload never blocks scheduling.

/** A valid task, then about `bytes` of payload, then an error that only a full parse finds. */
function largeInvalidFile(bytes: number): string {
  const item = "      - [alpha, beta, gamma, delta, 1, 2, 3]\n";
  return (
    "tasks:\n  - name: tick\n    every: 1m\n    command: [date]\n    payload:\n" +
    item.repeat(Math.ceil(bytes / item.length)) +
    "    overlap: never\n"
  );
}

describe("schedule file checked off the main thread (item 12)", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "orchestrator-thread-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("gives what checkScheduleFile gives", async () => {
    const file = join(dir, "small.yaml");
    await writeFile(
      file,
      "tasks:\n  - name: a\n    every: 5m\n    command: [date]\n    overlap: nope\n",
    );
    const inThread = await loadScheduleOffThread(file, { nowMs: NOW() });
    assert.deepEqual(inThread, await checkScheduleFile(file, { now: NOW }));
    assert.equal(inThread.ok, false);
  });

  it("keeps scheduling while a large file is reloaded: tasks run during the parse", async (t) => {
    const file = join(dir, "large.yaml");
    await writeFile(file, largeInvalidFile(256 * 1024));
    const scheduler = new Scheduler(new Dispatcher(), { logger: silentLogger });
    let runs = 0;
    await scheduler.registerTask("beat", { every: 20 }, () => void runs++);
    await scheduler.start();
    t.after(() => scheduler.stop());
    const errors: string[] = [];
    const reloader = new ScheduleReloader({
      scheduler,
      file,
      now: NOW,
      ownership: new ScheduleOwnership({
        store: scheduler.store,
        logger: silentLogger,
        source: scheduleSource(undefined, "test", file),
        nodeId: "test",
        path: file,
      }),
      logger: { ...silentLogger, error: (_fields, message) => void errors.push(String(message)) },
    });
    t.after(() => reloader.close());

    const before = runs;
    // Parsed on the main thread, the whole file was read and parsed before any timer could fire.
    assert.equal(await reloader.reload(), false);
    const during = runs - before;
    assert.ok(during >= 3, `only ${during} runs while the file was checked`);
    assert.ok(
      errors.some((message) => /large\.yaml:\d+:\d+: `overlap` must be one of/.test(message)),
      errors.join("\n"),
    );
    assert.deepEqual(
      scheduler.listTasks().map((task) => task.name),
      ["beat"],
    );
  });

  it("runs a module's top-level code in the thread, not in this process", async () => {
    await writeFile(
      join(dir, "marks.mjs"),
      "globalThis.importedByTheCheck = true;\nconsole.log('printed while imported');\nexport default function () {}\n",
    );
    const file = join(dir, "module.yaml");
    await writeFile(
      file,
      "tasks:\n  - name: m\n    every: 5m\n    module: { path: ./marks.mjs }\n",
    );
    const result = await loadScheduleOffThread(file, { nowMs: NOW() });
    assert.equal(
      result.ok,
      true,
      result.ok ? "" : result.errors.map(formatScheduleError).join("\n"),
    );
    assert.equal((globalThis as { importedByTheCheck?: boolean }).importedByTheCheck, undefined);
  });

  it("refuses a file whose check needs more memory than allowed, and stops when cancelled", async () => {
    const file = join(dir, "memory.yaml");
    await writeFile(file, largeInvalidFile(4 * 1024 * 1024));
    const result = await loadScheduleOffThread(file, { nowMs: NOW(), maxHeapMb: 16 });
    assert.deepEqual(result.ok ? [] : result.errors.map(formatScheduleError), [
      `${file}:1:1: checking the schedule file needs more than 16 MB of memory: make it smaller`,
    ]);

    const controller = new AbortController();
    const cancelled = loadScheduleOffThread(file, { nowMs: NOW(), signal: controller.signal });
    controller.abort();
    const outcome = await cancelled;
    assert.deepEqual(outcome.ok ? [] : outcome.errors.map((e) => e.message), [
      "the check was cancelled",
    ]);
  });
});
