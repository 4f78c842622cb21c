import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CronSyntaxError } from "../../src/errors.js";
import { parseCron } from "../../src/cron/cron-expression.js";
import { describeCron } from "../../src/cron/describe.js";
import { parseCronSyntax } from "../../src/cron/parse.js";

/** [expression, exact description] — grouped by what they exercise. */
const CASES: Record<string, readonly (readonly [string, string])[]> = {
  "times of day": [
    ["30 2 * * *", "At 02:30"],
    ["0 9,17 * * *", "At 09:00 and 17:00"],
    ["0,30 9,17 * * *", "At 09:00, 09:30, 17:00 and 17:30"],
    ["0 0,6,12,18 * * *", "At 00:00, 06:00, 12:00 and 18:00"],
    ["0,15,30,45 8-18 * * *", "At minutes 0, 15, 30 and 45 past hours 8 through 18"],
    ["0 1,2,3,4,5,6,7 * * *", "At minute 0 past hours 1, 2, 3, 4, 5, 6 and 7"],
    ["5-5 7 * * *", "At 07:05"],
  ],
  "minutes and hours": [
    ["* * * * *", "Every minute"],
    ["*/1 * * * *", "Every minute"],
    ["*/5 * * * *", "Every 5 minutes"],
    ["*/7 * * * *", "Every 7th minute"],
    ["5/15 * * * *", "Every 15th minute from 5 through 59"],
    ["10-40/10 * * * *", "Every 10th minute from 10 through 40"],
    ["1-5/10 * * * *", "At minute 1 past every hour"],
    ["0 * * * *", "At minute 0 past every hour"],
    ["0,30 * * * *", "At minutes 0 and 30 past every hour"],
    ["0-30 * * * *", "At minutes 0 through 30 past every hour"],
    ["0 */2 * * *", "At minute 0 past every 2nd hour"],
    ["0 8-18/2 * * *", "At minute 0 past every 2nd hour from 8 through 18"],
    ["0 8,12,14-18 * * *", "At minute 0 past hours 8, 12 and 14 through 18"],
    ["* 9 * * *", "Every minute past hour 9"],
    ["*/5 9-17 * * *", "Every 5 minutes past hours 9 through 17"],
    ["* */3 * * *", "Every minute past every 3rd hour"],
  ],
  seconds: [
    ["* * * * * *", "Every second"],
    ["*/10 * * * * *", "Every 10 seconds"],
    ["*/7 * * * * *", "Every 7th second"],
    ["0 */5 * * * *", "Every 5 minutes"],
    ["30 * * * * *", "At second 30 past every minute"],
    ["30 */5 * * * *", "At second 30 past every 5th minute"],
    ["0 30 2 * * *", "At 02:30:00"],
    ["15 30 2 * * *", "At 02:30:15"],
    ["0,30 0 9 * * *", "At 09:00:00 and 09:00:30"],
    ["*/10 30 2 * * *", "Every 10 seconds from 02:30:00 through 02:30:59"],
    ["0-10 30 2 * * *", "At seconds 0 through 10 past minute 30 past hour 2"],
    ["* * 9 * * *", "Every second past hour 9"],
  ],
  "day of month": [
    ["0 0 1 * *", "At 00:00, on day 1 of the month"],
    ["0 0 1,15 * *", "At 00:00, on day 1 and 15 of the month"],
    ["0 0 1-10,20 * *", "At 00:00, on days 1 through 10 and 20 of the month"],
    ["0 0 */2 * *", "At 00:00, on every 2nd day of the month"],
    ["0 0 1-15/2 * *", "At 00:00, on every 2nd day from day 1 through 15 of the month"],
    ["0 0 L * *", "At 00:00, on the last day of the month"],
    ["0 0 L-1 * *", "At 00:00, 1 day before the last day of the month"],
    ["0 0 L-3 * *", "At 00:00, 3 days before the last day of the month"],
    ["0 0 15W * *", "At 00:00, on the weekday nearest day 15 of the month"],
    ["0 0 LW * *", "At 00:00, on the last weekday of the month"],
    ["0 0 1,L * *", "At 00:00, on day 1 of the month and on the last day of the month"],
  ],
  "day of week": [
    ["30 2 * * 1-5", "At 02:30, Monday through Friday"],
    ["0 0 * * MON-FRI", "At 00:00, Monday through Friday"],
    ["0 0 * * FRI-SUN", "At 00:00, Friday through Sunday"],
    ["0 0 * * 0-7", "At 00:00, Sunday through Saturday"],
    ["0 0 * * 7", "At 00:00, on Sunday"],
    ["0 0 * * 0", "At 00:00, on Sunday"],
    ["0 0 * * 1,3,5", "At 00:00, on Monday, Wednesday and Friday"],
    ["0 0 * * SUN,SAT", "At 00:00, on Sunday and Saturday"],
    ["0 0 * * */2", "At 00:00, on Sunday, Tuesday, Thursday and Saturday"],
    ["0 0 * * 1-5/2", "At 00:00, on Monday, Wednesday and Friday"],
    ["0 0 * * 5L", "At 00:00, on the last Friday of the month"],
    ["0 0 * * 5#3", "At 00:00, on the third Friday of the month"],
    ["0 0 ? * 2#2", "At 00:00, on the second Tuesday of the month"],
    ["0 0 * * MON,5L", "At 00:00, on Monday and the last Friday of the month"],
    [
      "0 0 * * 1#1,7#5",
      "At 00:00, on the first Monday of the month and the fifth Sunday of the month",
    ],
  ],
  "day of month with day of week (Vixie)": [
    ["0 0 1,15 * MON", "At 00:00, on day 1 and 15 of the month, or on Monday"],
    ["0 0 L * 5", "At 00:00, on the last day of the month, or on Friday"],
    ["0 0 L-2 * MON", "At 00:00, 2 days before the last day of the month, or on Monday"],
    ["0 0 1-7 * 1-5", "At 00:00, on days 1 through 7 of the month, or on Monday through Friday"],
    ["0 0 */2 * 1", "At 00:00, on every 2nd day of the month if it is a Monday"],
    ["0 0 */2 * 1-5", "At 00:00, on every 2nd day of the month if it is Monday through Friday"],
    [
      "0 0 1 * */2",
      "At 00:00, on day 1 of the month if it is a Sunday, Tuesday, Thursday or Saturday",
    ],
    ["0 0 ? * 5L", "At 00:00, on the last Friday of the month"],
    ["0 0 1 * ?", "At 00:00, on day 1 of the month"],
  ],
  months: [
    ["0 0 1 1,7 *", "At 00:00, on day 1 of the month, only in January and July"],
    ["0 0 1 1-3 *", "At 00:00, on day 1 of the month, January through March"],
    [
      "0 0 1 JAN,JUN-AUG *",
      "At 00:00, on day 1 of the month, only in January and June through August",
    ],
    ["0 0 1 */3 *", "At 00:00, on day 1 of the month, only in January, April, July and October"],
    ["0 0 29 2 *", "At 00:00, on day 29 of the month, only in February"],
    ["30 2 * 12 1-5", "At 02:30, Monday through Friday, only in December"],
  ],
  years: [
    ["0 0 12 * * ? 2025", "At 12:00:00, in 2025"],
    [
      "0 0 0 1 1 ? 2025,2027",
      "At 00:00:00, on day 1 of the month, only in January, in 2025 and 2027",
    ],
    ["0 0 12 * * ? 2025-2030", "At 12:00:00, 2025 through 2030"],
    ["0 0 0 * * * 2025-2030,2040", "At 00:00:00, in 2025 through 2030 and 2040"],
    [
      "0 0 0 1 1 ? 2024/4",
      "At 00:00:00, on day 1 of the month, only in January, every 4th year from 2024 through 2199",
    ],
    ["0 0 0 * * * *", "At 00:00:00"],
  ],
  nicknames: [
    ["@yearly", "At 00:00, on day 1 of the month, only in January"],
    ["@annually", "At 00:00, on day 1 of the month, only in January"],
    ["@monthly", "At 00:00, on day 1 of the month"],
    ["@weekly", "At 00:00, on Sunday"],
    ["@daily", "At 00:00"],
    ["@midnight", "At 00:00"],
    ["@hourly", "At minute 0 past every hour"],
  ],
};

void describe("describe(): exact wording", () => {
  for (const [group, cases] of Object.entries(CASES)) {
    void describe(group, () => {
      for (const [expression, expected] of cases) {
        void it(`${expression} → ${expected}`, () => {
          assert.equal(parseCron(expression, { timezone: "UTC" }).describe(), expected);
        });
      }
    });
  }
});

void describe("describeCron() with a dayMatch option", () => {
  void it('"and" joins the day fields with "if it is"', () => {
    assert.equal(
      describeCron(parseCronSyntax("0 0 1,15 * MON"), { dayMatch: "and" }),
      "At 00:00, on day 1 and 15 of the month if it is a Monday",
    );
  });
  void it('"or" joins them with "or", even when one starts with *', () => {
    assert.equal(
      describeCron(parseCronSyntax("0 0 */2 * 1"), { dayMatch: "or" }),
      "At 00:00, on every 2nd day of the month, or on Monday",
    );
  });
  void it('"or" with an unrestricted field matches every day, so says nothing about days', () => {
    assert.equal(describeCron(parseCronSyntax("0 0 * * MON"), { dayMatch: "or" }), "At 00:00");
  });
  void it('defaults to "vixie"', () => {
    const parsed = parseCronSyntax("0 0 1,15 * MON");
    assert.equal(describeCron(parsed), describeCron(parsed, { dayMatch: "vixie" }));
  });
});

const pick = <T>(xs: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...xs);

/** One valid list element of a plain numeric field running min..max (max - min ≥ 2). */
function plainItem(min: number, max: number, names: readonly string[] = []): fc.Arbitrary<string> {
  const value = fc.integer({ min, max });
  const word = names.length > 0 ? fc.oneof(value.map(String), pick(names)) : value.map(String);
  const step = fc.integer({ min: 1, max: max - min });
  const range = fc.tuple(value, value).map(([a, b]) => (a <= b ? `${a}-${b}` : `${b}-${a}`));
  return fc.oneof(
    word,
    range,
    fc.tuple(range, step).map(([r, s]) => `${r}/${s}`),
    fc.tuple(value, step).map(([v, s]) => `${v}/${s}`),
  );
}

function field(
  item: fc.Arbitrary<string>,
  maxStep: number,
  extra: readonly string[] = [],
): fc.Arbitrary<string> {
  const step = fc.integer({ min: 1, max: maxStep });
  return fc.oneof(
    pick(["*", ...extra]),
    step.map((s) => `*/${s}`),
    fc.array(item, { minLength: 1, maxLength: 4 }).map((xs) => xs.join(",")),
  );
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "mon", "Fri"];

const secondField = field(plainItem(0, 59), 59);
const minuteField = field(plainItem(0, 59), 59);
const hourField = field(plainItem(0, 23), 23);
const domField = field(
  fc.oneof(
    plainItem(1, 31),
    pick(["L", "LW"]),
    fc.integer({ min: 1, max: 30 }).map((n) => `L-${n}`),
    fc.integer({ min: 1, max: 31 }).map((n) => `${n}W`),
  ),
  30,
  ["?"],
);
const monthField = field(plainItem(1, 12, MONTHS), 11);
const dowField = field(
  fc.oneof(
    plainItem(0, 7, DAYS),
    fc.integer({ min: 0, max: 7 }).map((d) => `${d}L`),
    fc
      .tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 5 }))
      .map(([d, n]) => `${d}#${n}`),
  ),
  7,
  ["?"],
);
const yearField = field(plainItem(1970, 2199), 229);

const expressionArb = fc.oneof(
  { weight: 1, arbitrary: pick(["@yearly", "@monthly", "@weekly", "@daily", "@hourly"]) },
  {
    weight: 9,
    arbitrary: fc
      .tuple(
        fc.option(secondField, { nil: undefined }),
        minuteField,
        hourField,
        domField,
        monthField,
        dowField,
        fc.option(yearField, { nil: undefined }),
      )
      .map(([s, ...rest]) => {
        const [, , , , , year] = rest;
        // A year field needs a seconds field in front of it.
        const head = s ?? (year !== undefined ? "0" : undefined);
        return [head, ...rest].filter((f) => f !== undefined).join(" ");
      }),
  },
);

void describe("describe(): properties", () => {
  void it("never throws and never says undefined or NaN for any expression that parses", () => {
    let parsed = 0;
    fc.assert(
      fc.property(expressionArb, (expression) => {
        let cron;
        try {
          cron = parseCronSyntax(expression);
        } catch (error) {
          if (error instanceof CronSyntaxError) return;
          throw error;
        }
        parsed++;
        for (const dayMatch of ["vixie", "or", "and"] as const) {
          const text = describeCron(cron, { dayMatch });
          assert.ok(text.length > 0, expression);
          assert.doesNotMatch(text, /undefined|NaN|null|\[object/, expression);
          assert.match(text, /^[A-Z]/, expression);
          assert.doesNotMatch(text, /\s{2}|,,|, ,|\s$/, expression);
        }
      }),
      { numRuns: 3000 },
    );
    // The generator is built to be valid: nearly everything must parse.
    assert.ok(parsed > 2500, `only ${parsed} of 3000 generated expressions parsed`);
  });
});
