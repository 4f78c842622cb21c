import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CronSyntaxError,
  InvalidArgumentError,
  OrchestratorError,
  nextRuns,
  parseCron,
} from "../../src/cron/index.js";
import type { CronFieldName } from "../../src/errors.js";

/**
 * docs/guides/cron.md: invalid expressions are rejected with a clear error (which
 * field, which character, why), and what is surely a mistake is rejected
 * with a hint. Every case checks the class, code, field, 0-based column,
 * the message frame and what the message says.
 */

function syntaxError(expression: string): CronSyntaxError {
  try {
    parseCron(expression, { timezone: "UTC" });
  } catch (error) {
    if (error instanceof CronSyntaxError) return error;
    assert.fail(`${JSON.stringify(expression)} threw ${String(error)}, not a CronSyntaxError`);
  }
  assert.fail(`${JSON.stringify(expression)} parsed, but must be rejected`);
}

interface ErrorCase {
  readonly expression: string;
  readonly field: CronFieldName;
  readonly column: number;
  /** Text the message must contain, after `Invalid cron expression "…": `. */
  readonly says: readonly string[];
}

function expectSyntaxError({ expression, field, column, says }: ErrorCase): CronSyntaxError {
  const error = syntaxError(expression);
  const where = JSON.stringify(expression);
  assert.ok(error instanceof OrchestratorError, where);
  assert.equal(error.code, "ERR_CRON_SYNTAX", where);
  assert.equal(error.name, "CronSyntaxError", where);
  assert.equal(error.expression, expression, where);
  assert.equal(error.field, field, `field of ${where}`);
  assert.equal(error.column, column, `column of ${where}`);
  assert.ok(
    error.message.startsWith(`Invalid cron expression ${where}: `),
    `message of ${where}: ${error.message}`,
  );
  assert.ok(error.message.endsWith(` (column ${column})`), `message of ${where}: ${error.message}`);
  for (const text of says) {
    assert.ok(
      error.message.includes(text),
      `message of ${where} should say "${text}": ${error.message}`,
    );
  }
  if (error.token !== "") {
    assert.equal(
      expression.slice(error.column, error.column + error.token.length),
      error.token,
      `token of ${where} should be the text at its column`,
    );
  }
  return error;
}

void describe("errors: the issue's example, exactly", () => {
  void it('"0 25 * * *": hour 25 is out of range 0-23 (column 2)', () => {
    const error = expectSyntaxError({
      expression: "0 25 * * *",
      field: "hour",
      column: 2,
      says: [],
    });
    assert.equal(
      error.message,
      'Invalid cron expression "0 25 * * *": hour 25 is out of range 0-23 (column 2)',
    );
    assert.equal(error.token, "25");
  });
});

const outOfRange: ErrorCase[] = [
  { expression: "60 * * * *", field: "minute", column: 0, says: ["minute 60", "0-59"] },
  { expression: "0 0 32 * *", field: "day-of-month", column: 4, says: ["32", "1-31"] },
  { expression: "0 0 0 * *", field: "day-of-month", column: 4, says: ["0", "1-31"] },
  { expression: "0 0 * 13 *", field: "month", column: 6, says: ["13", "1-12", "JAN-DEC"] },
  { expression: "0 0 * 0 *", field: "month", column: 6, says: ["1-12"] },
  { expression: "0 0 * * 8", field: "day-of-week", column: 8, says: ["8", "0-7", "SUN-SAT"] },
  { expression: "60 0 0 * * *", field: "second", column: 0, says: ["second 60", "0-59"] },
  { expression: "0 0 0 1 1 * 1969", field: "year", column: 12, says: ["1969", "1970-2199"] },
  { expression: "10-61 * * * *", field: "minute", column: 3, says: ["61", "0-59"] },
  { expression: "0 0 1,2,40 * *", field: "day-of-month", column: 8, says: ["40", "1-31"] },
  { expression: "99999999999999999999 * * * *", field: "minute", column: 0, says: ["0-59"] },
  { expression: "-1 * * * *", field: "minute", column: 0, says: ["negative", "0-59"] },
  { expression: "1.5 * * * *", field: "minute", column: 0, says: ["whole number", "0-59"] },
];

void describe("errors: out-of-range and malformed values", () => {
  for (const c of outOfRange) {
    void it(c.expression, () => {
      expectSyntaxError(c);
    });
  }
});

void describe("errors: steps", () => {
  void it('a step larger than the hour field hints at the minute field ("0 */30 * * *")', () => {
    expectSyntaxError({
      expression: "0 */30 * * *",
      field: "hour",
      column: 4,
      says: ["step 30", "hour", "1-23", "did you mean the minute field?"],
    });
  });

  void it("a step larger than the minute field", () => {
    expectSyntaxError({
      expression: "*/60 * * * *",
      field: "minute",
      column: 2,
      says: ["step 60", "1-59"],
    });
  });

  void it("a step larger than day-of-month, month or day-of-week", () => {
    expectSyntaxError({
      expression: "0 0 */32 * *",
      field: "day-of-month",
      column: 6,
      says: ["32"],
    });
    expectSyntaxError({ expression: "0 0 1 */13 *", field: "month", column: 8, says: ["13"] });
    expectSyntaxError({ expression: "0 0 * * */8", field: "day-of-week", column: 10, says: ["8"] });
  });

  void it("step 0 never advances", () => {
    expectSyntaxError({ expression: "*/0 * * * *", field: "minute", column: 2, says: ["step 0"] });
    expectSyntaxError({ expression: "0 1-5/0 * * *", field: "hour", column: 6, says: ["step 0"] });
    expectSyntaxError({
      expression: "0 0 * jan-dec/0 *",
      field: "month",
      column: 14,
      says: ["step 0"],
    });
  });

  void it("missing or malformed step", () => {
    expectSyntaxError({
      expression: "*/ * * * *",
      field: "minute",
      column: 2,
      says: ["whole number"],
    });
    expectSyntaxError({
      expression: "*/x * * * *",
      field: "minute",
      column: 2,
      says: ["whole number"],
    });
    expectSyntaxError({
      expression: "*/5/5 * * * *",
      field: "minute",
      column: 2,
      says: ["whole number"],
    });
    expectSyntaxError({ expression: "/5 * * * *", field: "minute", column: 0, says: ["*/5"] });
  });
});

void describe("errors: ranges", () => {
  void it("a reversed range 5-1 is refused with the order to write", () => {
    expectSyntaxError({
      expression: "5-1 * * * *",
      field: "minute",
      column: 0,
      says: ["5-1", "reversed", "1-5"],
    });
    expectSyntaxError({ expression: "0 5-1 * * *", field: "hour", column: 2, says: ["reversed"] });
    expectSyntaxError({
      expression: "0 0 31-1 * *",
      field: "day-of-month",
      column: 4,
      says: ["reversed"],
    });
    expectSyntaxError({
      expression: "0 0 * DEC-JAN *",
      field: "month",
      column: 6,
      says: ["reversed"],
    });
    expectSyntaxError({
      expression: "0 0 * * FRI-MON",
      field: "day-of-week",
      column: 8,
      says: ["reversed"],
    });
  });

  void it("a range with a bad end points at the end", () => {
    expectSyntaxError({
      expression: "0 0 1-40 * *",
      field: "day-of-month",
      column: 6,
      says: ["40"],
    });
    expectSyntaxError({ expression: "a-b * * * *", field: "minute", column: 0, says: ["0-59"] });
  });
});

void describe("errors: names", () => {
  void it("full day names suggest the three-letter form (MONDAY -> MON)", () => {
    expectSyntaxError({
      expression: "0 0 * * MONDAY",
      field: "day-of-week",
      column: 8,
      says: ["MONDAY", "MON", "three letters"],
    });
    expectSyntaxError({
      expression: "0 0 * * monday",
      field: "day-of-week",
      column: 8,
      says: ["MON"],
    });
    expectSyntaxError({
      expression: "0 0 * * 1-FRIDAY",
      field: "day-of-week",
      column: 10,
      says: ["FRI"],
    });
    expectSyntaxError({
      expression: "0 0 * * TUES",
      field: "day-of-week",
      column: 8,
      says: ["TUE"],
    });
  });

  void it("full month names suggest the three-letter form (JANUARY -> JAN)", () => {
    expectSyntaxError({ expression: "0 0 1 JANUARY *", field: "month", column: 6, says: ["JAN"] });
    expectSyntaxError({ expression: "0 0 1 SEPT *", field: "month", column: 6, says: ["SEP"] });
  });

  void it("names in the wrong field", () => {
    expectSyntaxError({ expression: "0 0 * MON *", field: "month", column: 6, says: ["JAN-DEC"] });
    expectSyntaxError({
      expression: "0 0 * * JAN",
      field: "day-of-week",
      column: 8,
      says: ["SUN-SAT"],
    });
  });
});

void describe("errors: special characters", () => {
  void it("? in minute, hour, month or seconds", () => {
    for (const [expression, field, column] of [
      ["? * * * *", "minute", 0],
      ["0 ? * * *", "hour", 2],
      ["0 0 * ? *", "month", 6],
      ["? * * * * *", "second", 0],
    ] as const) {
      expectSyntaxError({ expression, field, column, says: ["?", "day-of-month and day-of-week"] });
    }
  });

  void it("L, W and # outside their forms", () => {
    expectSyntaxError({ expression: "0 0 * * L", field: "day-of-week", column: 8, says: ["5L"] });
    expectSyntaxError({ expression: "0 0 W * *", field: "day-of-month", column: 4, says: ["15W"] });
    expectSyntaxError({
      expression: "0 0 32W * *",
      field: "day-of-month",
      column: 4,
      says: ["1-31"],
    });
    expectSyntaxError({
      expression: "0 0 L-31 * *",
      field: "day-of-month",
      column: 6,
      says: ["1-30"],
    });
    expectSyntaxError({
      expression: "0 0 * * 5#6",
      field: "day-of-week",
      column: 10,
      says: ["1-5"],
    });
    expectSyntaxError({
      expression: "0 0 * * 5#0",
      field: "day-of-week",
      column: 10,
      says: ["1-5"],
    });
    expectSyntaxError({
      expression: "0 0 * * 8#1",
      field: "day-of-week",
      column: 8,
      says: ["SUN-SAT"],
    });
    expectSyntaxError({
      expression: "L * * * *",
      field: "minute",
      column: 0,
      says: ["day-of-month"],
    });
    expectSyntaxError({
      expression: "0 0 * 5#2 *",
      field: "month",
      column: 6,
      says: ["day-of-week"],
    });
  });

  void it("empty list elements", () => {
    expectSyntaxError({ expression: "1,,2 * * * *", field: "minute", column: 2, says: ["empty"] });
    expectSyntaxError({
      expression: "0 0 * * SUN,",
      field: "day-of-week",
      column: 12,
      says: ["empty"],
    });
  });
});

void describe("errors: the token is the text at the column, as typed", () => {
  void it("a bad week number after # keeps its case (5#x)", () => {
    expectSyntaxError({
      expression: "0 0 * * 5#x",
      field: "day-of-week",
      column: 10,
      says: ["1-5"],
    });
    expectSyntaxError({
      expression: "0 0 * * mon#y",
      field: "day-of-week",
      column: 12,
      says: ["1-5"],
    });
  });
});

void describe("errors: shape of the expression", () => {
  void it("too few fields", () => {
    expectSyntaxError({
      expression: "* * * *",
      field: "expression",
      column: 7,
      says: ["expected 5 fields", "found 4"],
    });
  });

  void it("too many fields points at the eighth", () => {
    expectSyntaxError({
      expression: "0 0 0 1 1 * 2030 x",
      field: "expression",
      column: 17,
      says: ["expected 5 fields", "found 8"],
    });
  });

  void it("the empty string and blank text", () => {
    expectSyntaxError({ expression: "", field: "expression", column: 0, says: ["found 0"] });
    expectSyntaxError({ expression: "   ", field: "expression", column: 3, says: ["found 0"] });
  });

  void it("garbage", () => {
    expectSyntaxError({ expression: "garbage", field: "expression", column: 7, says: ["found 1"] });
    expectSyntaxError({ expression: "a b c d e", field: "minute", column: 0, says: ["0-59"] });
    expectSyntaxError({ expression: "é * * * *", field: "minute", column: 0, says: ["0-59"] });
  });

  void it("unknown nickname lists the allowed ones", () => {
    expectSyntaxError({
      expression: "@fortnightly",
      field: "expression",
      column: 0,
      says: ["@fortnightly", "@yearly @annually @monthly @weekly @daily @midnight @hourly"],
    });
    expectSyntaxError({
      expression: "@reboot",
      field: "expression",
      column: 0,
      says: ["start-up"],
    });
  });

  void it("a nickname stands alone", () => {
    expectSyntaxError({ expression: "@daily 5", field: "expression", column: 7, says: ["alone"] });
  });
});

void describe("errors: arguments", () => {
  void it("an invalid IANA zone is an InvalidArgumentError naming the zone", () => {
    for (const zone of ["Mars/Olympus_Mons", "America/New York", "Europe/Berlinn"]) {
      assert.throws(
        () => parseCron("0 0 * * *", { timezone: zone }),
        (error: unknown) =>
          error instanceof InvalidArgumentError &&
          error.code === "ERR_INVALID_ARGUMENT" &&
          error.received === zone &&
          error.message.includes(JSON.stringify(zone)),
        zone,
      );
      assert.throws(
        () => nextRuns("0 0 * * *", { timezone: zone, from: new Date(0) }),
        InvalidArgumentError,
      );
    }
    assert.throws(() => parseCron("0 0 * * *", { timezone: "" }), InvalidArgumentError);
  });

  void it("a bad zone and a bad expression together give one of our errors", () => {
    assert.throws(
      () => parseCron("0 25 * * *", { timezone: "Nowhere/City" }),
      (error: unknown) => error instanceof InvalidArgumentError || error instanceof CronSyntaxError,
    );
  });

  void it("a non-string expression is an InvalidArgumentError, not a TypeError", () => {
    const values: unknown[] = [null, undefined, 5, {}, ["0 0 * * *"]];
    for (const value of values) {
      assert.throws(() => parseCron(value as string, { timezone: "UTC" }), InvalidArgumentError);
    }
  });

  void it("bad options are InvalidArgumentErrors", () => {
    const bad = [
      { dayMatch: "xor" },
      { dst: { gap: "later" } },
      { dst: { overlap: "second" } },
      { timezone: 5 },
    ] as unknown as Parameters<typeof parseCron>[1][];
    for (const options of bad) {
      assert.throws(() => parseCron("0 0 * * *", options), InvalidArgumentError);
    }
  });

  void it("an invalid Date is an InvalidArgumentError", () => {
    const cron = parseCron("0 0 * * *", { timezone: "UTC" });
    const invalid = new Date(Number.NaN);
    assert.throws(() => cron.next(invalid), InvalidArgumentError);
    assert.throws(() => cron.prev(invalid), InvalidArgumentError);
    assert.throws(() => cron.matches(invalid), InvalidArgumentError);
    assert.throws(() => cron.nextRuns(2, invalid), InvalidArgumentError);
    assert.throws(() => cron.nextRuns(-1, new Date(0)), InvalidArgumentError);
  });
});

void describe("errors: schedules that can never fire", () => {
  const never = [
    "0 0 30 2 *",
    "0 0 31 4 *",
    "0 0 31 2,4,6,9,11 *",
    "0 0 L-30 2 *",
    "0 0 0 30 2 * 2024-2199",
  ];
  for (const expression of never) {
    void it(`${expression} parses and has no next or previous run`, () => {
      for (const timezone of ["UTC", "America/New_York", "Pacific/Chatham"]) {
        const cron = parseCron(expression, { timezone });
        for (const from of [
          "1970-01-01T00:00:00.000Z",
          "2024-06-01T00:00:00.000Z",
          "2150-01-01T00:00:00.000Z",
        ]) {
          assert.equal(
            cron.next(new Date(from)),
            null,
            `${expression} in ${timezone} from ${from}`,
          );
          assert.equal(
            cron.prev(new Date(from)),
            null,
            `${expression} in ${timezone} from ${from}`,
          );
          assert.deepEqual(cron.nextRuns(3, new Date(from)), []);
        }
      }
    });
  }

  void it("with Vixie OR, 0 0 30 2 MON does fire (on Mondays in February)", () => {
    const cron = parseCron("0 0 30 2 MON", { timezone: "UTC" });
    assert.equal(
      cron.next(new Date("2024-01-01T00:00:00.000Z"))?.toISOString(),
      "2024-02-05T00:00:00.000Z",
    );
  });

  void it("a schedule past its last year has no next run but has previous ones", () => {
    const cron = parseCron("0 0 0 1 1 * 2020", { timezone: "UTC" });
    assert.equal(cron.next(new Date("2024-01-01T00:00:00.000Z")), null);
    assert.equal(
      cron.prev(new Date("2024-01-01T00:00:00.000Z"))?.toISOString(),
      "2020-01-01T00:00:00.000Z",
    );
  });
});
