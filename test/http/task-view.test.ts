import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { storedTaskView, taskView } from "../../src/http/task-view.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { ManualClock } from "../../src/time/clock.js";

describe("task views", () => {
  it("a stored task's view is its registered view, but for running", async (t) => {
    const dispatcher = new Dispatcher();
    const clock = new ManualClock("2026-03-01T10:00:00Z");
    const scheduler = new Scheduler(dispatcher, { clock, timezone: "UTC", logger: silentLogger });
    t.after(async () => {
      await scheduler.stop();
      await dispatcher.close();
    });
    await scheduler.registerTask("cron", "30 2 * * 1-5", () => {}, {
      timezone: "Europe/Berlin",
      overlap: "queue",
      misfire: "run-all",
    });
    await scheduler.registerTask("interval", { every: "90s" }, () => {});
    await scheduler.registerTask("once", new Date("2026-04-01T00:00:00Z"), () => {});
    await scheduler.pauseTask("interval");

    const records = await scheduler.store.listTasks();
    assert.equal(records.length, 3);
    for (const record of records) {
      const info = scheduler.getTask(record.name) ?? assert.fail(record.name);
      const stored = storedTaskView(
        { record, state: record.state, checked: true, fromScheduleFile: false },
        [5],
      );
      assert.equal(stored.running, null);
      assert.deepEqual(
        { ...stored, running: false },
        taskView(info, [5], () => false),
      );
    }
    assert.deepEqual(
      records
        .map((record) => [
          record.name,
          storedTaskView(
            { record, state: record.state, checked: true, fromScheduleFile: undefined },
            [],
          ).schedule,
        ])
        .sort(),
      [
        ["cron", "30 2 * * 1-5"],
        ["interval", "every 90000ms"],
        ["once", "2026-04-01T00:00:00.000Z"],
      ],
    );
  });

  it("says what the CLI does not know: the state unchecked, the origin, the reason", async () => {
    const dispatcher = new Dispatcher();
    const scheduler = new Scheduler(dispatcher, {
      clock: new ManualClock("2026-03-01T10:00:00Z"),
      timezone: "UTC",
      logger: silentLogger,
    });
    await scheduler.registerTask("job", "0 * * * *", () => {});
    const [record] = await scheduler.store.listTasks();
    await scheduler.stop();
    await dispatcher.close();
    assert.ok(record);
    const unchecked = storedTaskView(
      { record, state: record.state, checked: false, fromScheduleFile: undefined },
      [],
    );
    assert.deepEqual(
      [unchecked.checked, unchecked.fromScheduleFile, unchecked.quarantineReason],
      [false, null, null],
    );
    const quarantined = storedTaskView(
      {
        record,
        state: "quarantined",
        checked: true,
        quarantineReason: "unknown-key",
        fromScheduleFile: undefined,
      },
      [],
    );
    assert.equal(quarantined.quarantineReason, "unknown-key");
    // A quarantined task does not run, whatever its record says.
    assert.equal(quarantined.nextRun, null);
    assert.notEqual(unchecked.nextRun, null);
  });
});
