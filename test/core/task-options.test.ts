import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_TASK_OPTIONS, TASK_DEFAULTS } from "../../src/core/task.js";
import { checkCallback, checkTaskName, resolveTaskOptions } from "../../src/core/task-options.js";
import { InvalidArgumentError } from "../../src/errors.js";

function invalid(fn: () => unknown, argument: string, received?: unknown): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError, String(error));
    assert.equal(error.argument, argument);
    assert.match(
      error.message,
      new RegExp(`^Expected \`${argument.replace(/\./g, "\\.")}\` to be .+, got `),
    );
    if (received !== undefined) assert.deepEqual(error.received, received);
    return true;
  });
}

describe("task options", () => {
  it("has frozen defaults and shares one resolved object when no options are given", () => {
    assert.ok(Object.isFrozen(TASK_DEFAULTS));
    assert.equal(TASK_DEFAULTS.overlap, "skip");
    assert.equal(TASK_DEFAULTS.misfire, "run-once");
    assert.equal(resolveTaskOptions(undefined), DEFAULT_TASK_OPTIONS);
    assert.equal(resolveTaskOptions({}), DEFAULT_TASK_OPTIONS);
  });

  it("resolves every option", () => {
    const resolved = resolveTaskOptions({
      timezone: "Europe/Paris",
      overlap: "queue",
      misfire: "run-all",
      misfireGraceMs: "5s",
      maxCatchUpRuns: 3,
      timeoutMs: 250,
      retries: { attempts: 2, backoffMs: "1s", factor: 3, maxBackoffMs: "1m" },
      startAt: "2026-01-01T00:00:00Z",
      endAt: new Date("2027-01-01T00:00:00Z"),
      maxRuns: 5,
      jitterMs: 100,
      payload: { to: "ops" },
      replace: true,
      dayMatch: "or",
      dst: { gap: "skip" },
    });
    assert.equal(resolved.misfireGraceMs, 5_000);
    assert.deepEqual(resolved.retries, {
      attempts: 2,
      backoffMs: 1_000,
      factor: 3,
      maxBackoffMs: 60_000,
    });
    assert.equal(resolved.startAtMs, Date.parse("2026-01-01T00:00:00Z"));
    assert.equal(resolved.endAtMs, Date.parse("2027-01-01T00:00:00Z"));
    assert.deepEqual(resolved.payload, { to: "ops" });
    assert.equal(resolveTaskOptions({ retries: 4 }).retries.attempts, 4);
  });

  it("names the option, the expectation and the value of each bad option", () => {
    invalid(() => resolveTaskOptions({ overlap: "sometimes" }), "options.overlap", "sometimes");
    invalid(() => resolveTaskOptions({ misfire: "later" }), "options.misfire", "later");
    invalid(() => resolveTaskOptions({ misfireGraceMs: -1 }), "options.misfireGraceMs", -1);
    invalid(() => resolveTaskOptions({ maxCatchUpRuns: 0 }), "options.maxCatchUpRuns", 0);
    invalid(() => resolveTaskOptions({ timeoutMs: "fast" }), "options.timeoutMs", "fast");
    invalid(() => resolveTaskOptions({ retries: "3" }), "options.retries", "3");
    invalid(
      () => resolveTaskOptions({ retries: { attempts: -1 } }),
      "options.retries.attempts",
      -1,
    );
    invalid(() => resolveTaskOptions({ retries: { factor: 0.5 } }), "options.retries.factor", 0.5);
    invalid(
      () => resolveTaskOptions({ retries: { backoffMs: 10, maxBackoffMs: 5 } }),
      "options.retries.maxBackoffMs",
      5,
    );
    invalid(() => resolveTaskOptions({ retries: { tries: 1 } }), "options.retries.tries", 1);
    invalid(() => resolveTaskOptions({ startAt: "yesterday" }), "options.startAt", "yesterday");
    invalid(() => resolveTaskOptions({ endAt: new Date(Number.NaN) }), "options.endAt");
    invalid(() => resolveTaskOptions({ startAt: 2000, endAt: 1000 }), "options.endAt", 1000);
    invalid(() => resolveTaskOptions({ maxRuns: 0 }), "options.maxRuns", 0);
    invalid(() => resolveTaskOptions({ maxRuns: 1.5 }), "options.maxRuns", 1.5);
    invalid(() => resolveTaskOptions({ jitterMs: Number.POSITIVE_INFINITY }), "options.jitterMs");
    invalid(() => resolveTaskOptions({ payload: 10n }), "options.payload");
    invalid(() => resolveTaskOptions({ replace: "yes" }), "options.replace", "yes");
    invalid(() => resolveTaskOptions({ timezone: 42 }), "options.timezone", 42);
    invalid(() => resolveTaskOptions({ dayMatch: "xor" }), "options.dayMatch", "xor");
    invalid(() => resolveTaskOptions({ dst: { gap: "jump" } }), "options.dst.gap", "jump");
    invalid(() => resolveTaskOptions({ overlp: "skip" }), "options.overlp", "skip");
    invalid(() => resolveTaskOptions("skip"), "options", "skip");
  });

  it("bounds every duration, naming the option, the value and the allowed range", () => {
    const day = 86_400_000;
    const cases: [Record<string, unknown>, string, unknown, RegExp][] = [
      // Beyond 2^31-1 ms Node's timers fire at once: every run was killed within milliseconds.
      [{ timeoutMs: 2 ** 31 }, "options.timeoutMs", 2 ** 31, /from 0 ms to 2147483647 ms/],
      // A retry due past Date's range never came, and the task stayed "running" for ever.
      [
        { retries: { attempts: 1, backoffMs: Number.MAX_SAFE_INTEGER } },
        "options.retries.backoffMs",
        Number.MAX_SAFE_INTEGER,
        /from 0 ms to 2592000000 ms \(30 days\)/,
      ],
      [
        { retries: { attempts: 1, maxBackoffMs: 31 * day } },
        "options.retries.maxBackoffMs",
        31 * day,
        /to 2592000000 ms/,
      ],
      [{ misfireGraceMs: 31 * day }, "options.misfireGraceMs", 31 * day, /to 2592000000 ms/],
      [{ jitterMs: "31d" }, "options.jitterMs", "31d", /to 2592000000 ms/],
    ];
    for (const [options, argument, received, range] of cases) {
      invalid(() => resolveTaskOptions(options), argument, received);
      assert.throws(() => resolveTaskOptions(options), range);
    }
    assert.equal(resolveTaskOptions({ timeoutMs: 2 ** 31 - 1 }).timeoutMs, 2 ** 31 - 1);
    assert.equal(
      resolveTaskOptions({ retries: { backoffMs: "30d" } }).retries.maxBackoffMs,
      30 * day,
    );
    invalid(() => resolveTaskOptions({ noRunsLeft: "ignore" }), "options.noRunsLeft", "ignore");
  });

  it("checks callbacks and names", () => {
    const fn = (): void => {};
    assert.equal(checkCallback(fn), fn);
    assert.equal(checkCallback("send-report"), "send-report");
    assert.deepEqual(checkCallback({ module: "/x.mjs", export: "run" }), {
      module: "/x.mjs",
      export: "run",
    });
    invalid(() => checkCallback(42), "callback", 42);
    invalid(() => checkCallback(null), "callback", null);
    invalid(() => checkCallback({ module: "" }), "callback.module", "");
    invalid(() => checkCallback({ module: "/x.mjs", export: 3 }), "callback.export", 3);
    invalid(() => checkTaskName(""), "name", "");
    invalid(() => checkTaskName(7), "name", 7);
  });
});
