/**
 * Issue 13, item 18: the daemon's history retention settings: the file's
 * `historyMaxAge` and per-task `keepLast`, the `--history-max-age` flag, and
 * which wins.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toRegistration } from "../../src/cli/to-registration.js";
import {
  DEFAULT_HISTORY_MAX_AGE_MS,
  effectiveHistoryMaxAge,
  historyMaxAgeFlag,
} from "../../src/cli/history-retention.js";
import { parseRunFlags } from "../../src/cli/run-options.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { errorsOf, specOf } from "./helpers.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function file(top: string, task = ""): string {
  return `${top}tasks:\n  - name: chatty\n    every: 1s\n    command: ["true"]\n${task}`;
}

describe("history retention settings", () => {
  it("reads historyMaxAge at the top of the file: a duration, ms, 0 or off", () => {
    assert.equal(specOf(file("historyMaxAge: 30d\n")).historyMaxAgeMs, 30 * DAY);
    assert.equal(specOf(file("historyMaxAge: 12h\n")).historyMaxAgeMs, 12 * HOUR);
    assert.equal(specOf(file("historyMaxAge: 90000\n")).historyMaxAgeMs, 90_000);
    assert.equal(specOf(file("historyMaxAge: 0\n")).historyMaxAgeMs, 0);
    assert.equal(specOf(file("historyMaxAge: off\n")).historyMaxAgeMs, 0);
    assert.equal(specOf(file("")).historyMaxAgeMs, undefined);
  });

  it("refuses a historyMaxAge that is not an age, at its line and column", () => {
    for (const [value, pattern] of [
      ["soon", /`historyMaxAge` must be a duration such as "30d".*got "soon"/],
      ["-5", /`historyMaxAge` must be a duration/],
      ["true", /historyMaxAge.*"30d"/],
    ] as const) {
      const errors = errorsOf(file(`historyMaxAge: ${value}\n`));
      assert.equal(errors.length, 1, value);
      assert.equal(errors[0]?.line, 1, value);
      assert.equal(errors[0]?.column, 16, value);
      assert.match(errors[0]?.message ?? "", pattern);
    }
  });

  it("reads keepLast on a task and passes it to the scheduler; refuses 0", () => {
    const spec = specOf(file("", "    keepLast: 100\n"));
    assert.equal(spec.tasks[0]?.options.keepLast, 100);
    const registration = toRegistration(spec.tasks[0] ?? assert.fail("no task"));
    assert.equal(registration.options.keepLast, 100);
    const errors = errorsOf(file("", "    keepLast: 0\n"));
    assert.match(errors[0]?.message ?? "", /keepLast/);
    assert.equal(errors[0]?.line, 5);
  });

  it("--history-max-age: a duration, ms or off; the flag wins over the file, the file over 30 days", () => {
    assert.equal(historyMaxAgeFlag("7d"), 7 * DAY);
    assert.equal(historyMaxAgeFlag("off"), 0);
    assert.equal(historyMaxAgeFlag(undefined), undefined);
    assert.throws(
      () => parseRunFlags({ historyMaxAge: "a month" }, "/tmp"),
      (error: unknown) =>
        error instanceof InvalidArgumentError && error.argument === "--history-max-age",
    );
    assert.equal(parseRunFlags({ historyMaxAge: "12h" }, "/tmp").historyMaxAgeMs, 12 * HOUR);
    assert.equal(DEFAULT_HISTORY_MAX_AGE_MS, 30 * DAY);
    assert.equal(effectiveHistoryMaxAge(undefined, undefined), 30 * DAY);
    assert.equal(effectiveHistoryMaxAge(undefined, 2 * DAY), 2 * DAY);
    assert.equal(effectiveHistoryMaxAge(HOUR, 2 * DAY), HOUR);
    assert.equal(effectiveHistoryMaxAge(0, 2 * DAY), 0);
  });
});
