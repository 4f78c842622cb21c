/**
 * Issue 15, obs. 16: a hung callback with overlap `skip` silenced its task (9
 * of 10 runs skipped, no log line). A task skipped by overlap several times in
 * a row now logs a warning that names it: at the third, then at each doubling.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deferred } from "../helpers/events.js";
import { manualScheduler, turns } from "../helpers/scheduler.js";

describe("overlap skips in a row (issue 15, obs. 16)", () => {
  it("warns at the 3rd, 6th and 12th skip in a row, naming the task and when its run started; a start resets the count", async () => {
    const { scheduler, clock, logger } = manualScheduler();
    const gate = deferred();
    const hang2 = deferred();
    let calls = 0;
    await scheduler.registerTask("hung", "* * * * *", async () => {
      calls++;
      await (calls === 1 ? gate.promise : hang2.promise);
    });
    await scheduler.registerTask("fine", "* * * * *", () => {});
    const warnings = (): string[] =>
      logger.entries
        .filter((entry) => entry.level === "warn" && /in a row/.test(entry.msg ?? ""))
        .map((entry) => entry.msg ?? "");
    clock.advance("1m");
    void scheduler.runPending(); // "hung" starts and hangs
    await turns();
    for (let minute = 2; minute <= 14; minute++) {
      clock.advance("1m");
      await scheduler.runPending();
    }
    // Minutes 2 to 14: 13 skips in a row.
    assert.deepEqual(warnings(), [
      'Task "hung" was skipped 3 times in a row (overlap: skip): its run started at 2026-01-01T00:01:00.000Z is still running',
      'Task "hung" was skipped 6 times in a row (overlap: skip): its run started at 2026-01-01T00:01:00.000Z is still running',
      'Task "hung" was skipped 12 times in a row (overlap: skip): its run started at 2026-01-01T00:01:00.000Z is still running',
    ]);
    const warning = logger.entries.find((entry) => /in a row/.test(entry.msg ?? ""));
    assert.equal(warning?.obj.taskName, "hung");
    // The run ends; the next one starts (and hangs too): the count starts again from 0.
    gate.resolve();
    await turns(10);
    clock.advance("1m");
    void scheduler.runPending();
    await turns();
    assert.equal(calls, 2);
    for (let i = 0; i < 5; i++) {
      clock.advance("1m");
      await scheduler.runPending();
    }
    assert.equal(warnings().length, 4, "a warning at the third skip after the start, none after");
    assert.match(warnings()[3] ?? "", /skipped 3 times in a row .* started at 2026-01-01T00:15:00/);
    hang2.resolve();
    await scheduler.stop();
  });
});
