import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nextRuns, parseCron, type CronOptions } from "../../src/cron/index.js";

/**
 * One test per syntax element of docs/guides/cron.md, each with
 * a fixed start and an explicit zone, comparing exact UTC ISO strings.
 * Calendar facts used below: 2024-01-01 is a Monday; 2024 is a leap year.
 */

function runs(
  expression: string,
  timezone: string,
  from: string,
  count: number,
  options: Omit<CronOptions, "timezone"> = {},
): string[] {
  return parseCron(expression, { ...options, timezone })
    .nextRuns(count, new Date(from))
    .map((d) => d.toISOString());
}

const JAN1 = "2024-01-01T00:00:00.000Z";

void describe("syntax: basic fields", () => {
  void it("* matches every minute", () => {
    assert.deepEqual(runs("* * * * *", "UTC", "2024-01-01T00:00:30.000Z", 3), [
      "2024-01-01T00:01:00.000Z",
      "2024-01-01T00:02:00.000Z",
      "2024-01-01T00:03:00.000Z",
    ]);
  });

  void it("single values", () => {
    assert.deepEqual(runs("5 4 * * *", "UTC", JAN1, 2), [
      "2024-01-01T04:05:00.000Z",
      "2024-01-02T04:05:00.000Z",
    ]);
    assert.deepEqual(runs("0 12 25 12 *", "UTC", JAN1, 2), [
      "2024-12-25T12:00:00.000Z",
      "2025-12-25T12:00:00.000Z",
    ]);
  });

  void it("ranges a-b", () => {
    assert.deepEqual(runs("0 9-11 * * *", "UTC", JAN1, 4), [
      "2024-01-01T09:00:00.000Z",
      "2024-01-01T10:00:00.000Z",
      "2024-01-01T11:00:00.000Z",
      "2024-01-02T09:00:00.000Z",
    ]);
    assert.deepEqual(runs("0 0 30-31 1-2 *", "UTC", JAN1, 3), [
      "2024-01-30T00:00:00.000Z",
      "2024-01-31T00:00:00.000Z",
      "2025-01-30T00:00:00.000Z",
    ]);
  });

  void it("steps */n", () => {
    assert.deepEqual(runs("*/15 * * * *", "UTC", JAN1, 4), [
      "2024-01-01T00:15:00.000Z",
      "2024-01-01T00:30:00.000Z",
      "2024-01-01T00:45:00.000Z",
      "2024-01-01T01:00:00.000Z",
    ]);
    // */7 restarts at 0 each hour: 56 is followed by 0, not by 3.
    assert.deepEqual(runs("*/7 * * * *", "UTC", "2024-01-01T00:50:00.000Z", 3), [
      "2024-01-01T00:56:00.000Z",
      "2024-01-01T01:00:00.000Z",
      "2024-01-01T01:07:00.000Z",
    ]);
  });

  void it("steps a-b/n", () => {
    assert.deepEqual(runs("10-30/10 * * * *", "UTC", JAN1, 4), [
      "2024-01-01T00:10:00.000Z",
      "2024-01-01T00:20:00.000Z",
      "2024-01-01T00:30:00.000Z",
      "2024-01-01T01:10:00.000Z",
    ]);
    assert.deepEqual(runs("0 1-10/4 * * *", "UTC", JAN1, 4), [
      "2024-01-01T01:00:00.000Z",
      "2024-01-01T05:00:00.000Z",
      "2024-01-01T09:00:00.000Z",
      "2024-01-02T01:00:00.000Z",
    ]);
  });

  void it("steps a/n mean a-max/n (Quartz)", () => {
    assert.deepEqual(runs("5/20 * * * *", "UTC", JAN1, 4), [
      "2024-01-01T00:05:00.000Z",
      "2024-01-01T00:25:00.000Z",
      "2024-01-01T00:45:00.000Z",
      "2024-01-01T01:05:00.000Z",
    ]);
    assert.deepEqual(runs("0 20/2 * * *", "UTC", JAN1, 3), [
      "2024-01-01T20:00:00.000Z",
      "2024-01-01T22:00:00.000Z",
      "2024-01-02T20:00:00.000Z",
    ]);
    assert.deepEqual(
      runs("5/20 * * * *", "UTC", JAN1, 10),
      runs("5-59/20 * * * *", "UTC", JAN1, 10),
    );
  });

  void it("lists, including ranges and steps as elements", () => {
    assert.deepEqual(runs("0,30 8,17 * * *", "UTC", JAN1, 5), [
      "2024-01-01T08:00:00.000Z",
      "2024-01-01T08:30:00.000Z",
      "2024-01-01T17:00:00.000Z",
      "2024-01-01T17:30:00.000Z",
      "2024-01-02T08:00:00.000Z",
    ]);
    assert.deepEqual(runs("0 1,3-4,20-23/3 * * *", "UTC", JAN1, 6), [
      "2024-01-01T01:00:00.000Z",
      "2024-01-01T03:00:00.000Z",
      "2024-01-01T04:00:00.000Z",
      "2024-01-01T20:00:00.000Z",
      "2024-01-01T23:00:00.000Z",
      "2024-01-02T01:00:00.000Z",
    ]);
  });

  void it("fields are read in the given zone (Asia/Kolkata, +05:30)", () => {
    assert.deepEqual(runs("0 9 * * *", "Asia/Kolkata", JAN1, 2), [
      "2024-01-01T03:30:00.000Z",
      "2024-01-02T03:30:00.000Z",
    ]);
  });
});

void describe("syntax: names", () => {
  const months = [
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
  ];
  void it("month names JAN-DEC", () => {
    months.forEach((name, i) => {
      const expected =
        i === 0
          ? "2025-01-01T00:00:00.000Z"
          : `2024-${String(i + 1).padStart(2, "0")}-01T00:00:00.000Z`;
      assert.deepEqual(runs(`0 0 1 ${name} *`, "UTC", JAN1, 1), [expected], name);
    });
  });

  void it("day names SUN-SAT", () => {
    // From Sunday 2023-12-31 noon: the first Monday is Jan 1, the first Sunday Jan 7.
    const firsts = ["07", "01", "02", "03", "04", "05", "06"];
    ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"].forEach((name, i) => {
      assert.deepEqual(
        runs(`0 0 * * ${name}`, "UTC", "2023-12-31T12:00:00.000Z", 1),
        [`2024-01-${firsts[i]}T00:00:00.000Z`],
        name,
      );
    });
  });

  void it("names are case-insensitive", () => {
    const upper = runs("0 12 1 JAN,JUL * ", "UTC", JAN1, 4);
    assert.deepEqual(upper, [
      "2024-01-01T12:00:00.000Z",
      "2024-07-01T12:00:00.000Z",
      "2025-01-01T12:00:00.000Z",
      "2025-07-01T12:00:00.000Z",
    ]);
    assert.deepEqual(runs("0 12 1 jan,Jul *", "UTC", JAN1, 4), upper);
    assert.deepEqual(runs("0 12 * * sun,Wed", "UTC", JAN1, 3), [
      "2024-01-03T12:00:00.000Z",
      "2024-01-07T12:00:00.000Z",
      "2024-01-10T12:00:00.000Z",
    ]);
  });

  void it("name ranges JAN-MAR and MON-FRI", () => {
    assert.deepEqual(runs("0 0 1 jan-mar *", "UTC", JAN1, 3), [
      "2024-02-01T00:00:00.000Z",
      "2024-03-01T00:00:00.000Z",
      "2025-01-01T00:00:00.000Z",
    ]);
    assert.deepEqual(runs("0 9 * * MON-FRI", "UTC", "2024-01-05T10:00:00.000Z", 2), [
      "2024-01-08T09:00:00.000Z",
      "2024-01-09T09:00:00.000Z",
    ]);
  });
});

void describe("syntax: day-of-week", () => {
  void it("0 and 7 are both Sunday", () => {
    const sundays = ["2024-01-07T00:00:00.000Z", "2024-01-14T00:00:00.000Z"];
    assert.deepEqual(runs("0 0 * * 0", "UTC", JAN1, 2), sundays);
    assert.deepEqual(runs("0 0 * * 7", "UTC", JAN1, 2), sundays);
    assert.deepEqual(runs("0 0 * * SUN", "UTC", JAN1, 2), sundays);
  });

  void it("FRI-SUN is Friday to Sunday, as is 5-7", () => {
    const expected = [
      "2024-01-05T00:00:00.000Z",
      "2024-01-06T00:00:00.000Z",
      "2024-01-07T00:00:00.000Z",
      "2024-01-12T00:00:00.000Z",
    ];
    assert.deepEqual(runs("0 0 * * FRI-SUN", "UTC", JAN1, 4), expected);
    assert.deepEqual(runs("0 0 * * 5-7", "UTC", JAN1, 4), expected);
  });

  void it("SUN ends a range as 7 only after a later start: SUN-SUN is Sunday alone", () => {
    // Cronie reads SUN-SUN as 0-0; reading the end as 7 would make it every day.
    const sundays = [
      "2024-01-07T00:00:00.000Z",
      "2024-01-14T00:00:00.000Z",
      "2024-01-21T00:00:00.000Z",
    ];
    assert.deepEqual(runs("0 0 * * SUN-SUN", "UTC", JAN1, 3), sundays);
    assert.deepEqual(runs("0 0 * * 0-0", "UTC", JAN1, 3), sundays);
  });

  void it("5L is the last Friday of the month", () => {
    assert.deepEqual(runs("0 0 * * 5L", "UTC", JAN1, 4), [
      "2024-01-26T00:00:00.000Z",
      "2024-02-23T00:00:00.000Z",
      "2024-03-29T00:00:00.000Z",
      "2024-04-26T00:00:00.000Z",
    ]);
    assert.deepEqual(runs("0 0 * * FRIL", "UTC", JAN1, 4), runs("0 0 * * 5L", "UTC", JAN1, 4));
  });

  void it("5#3 is the third Friday; 5#5 skips months without a fifth Friday", () => {
    assert.deepEqual(runs("0 0 * * 5#3", "UTC", JAN1, 4), [
      "2024-01-19T00:00:00.000Z",
      "2024-02-16T00:00:00.000Z",
      "2024-03-15T00:00:00.000Z",
      "2024-04-19T00:00:00.000Z",
    ]);
    assert.deepEqual(runs("0 0 * * 5#5", "UTC", JAN1, 3), [
      "2024-03-29T00:00:00.000Z",
      "2024-05-31T00:00:00.000Z",
      "2024-08-30T00:00:00.000Z",
    ]);
  });
});

void describe("syntax: day-of-month specials", () => {
  void it("? means no restriction in day-of-month or day-of-week", () => {
    assert.deepEqual(runs("0 0 ? * MON", "UTC", JAN1, 2), [
      "2024-01-08T00:00:00.000Z",
      "2024-01-15T00:00:00.000Z",
    ]);
    assert.deepEqual(runs("0 0 15 * ?", "UTC", JAN1, 2), [
      "2024-01-15T00:00:00.000Z",
      "2024-02-15T00:00:00.000Z",
    ]);
  });

  void it("L is the last day of the month (leap February included)", () => {
    assert.deepEqual(runs("0 0 L * *", "UTC", JAN1, 4), [
      "2024-01-31T00:00:00.000Z",
      "2024-02-29T00:00:00.000Z",
      "2024-03-31T00:00:00.000Z",
      "2024-04-30T00:00:00.000Z",
    ]);
    assert.deepEqual(runs("0 0 L 2 *", "UTC", "2024-03-01T00:00:00.000Z", 1), [
      "2025-02-28T00:00:00.000Z",
    ]);
  });

  void it("L-3 is three days before the last day", () => {
    assert.deepEqual(runs("0 0 L-3 * *", "UTC", JAN1, 4), [
      "2024-01-28T00:00:00.000Z",
      "2024-02-26T00:00:00.000Z",
      "2024-03-28T00:00:00.000Z",
      "2024-04-27T00:00:00.000Z",
    ]);
  });

  void it("15W is the weekday nearest the 15th", () => {
    // 2024-06-15 is a Saturday (-> Fri 14), 2024-09-15 a Sunday (-> Mon 16).
    assert.deepEqual(runs("0 0 15W * *", "UTC", "2024-06-01T00:00:00.000Z", 4), [
      "2024-06-14T00:00:00.000Z",
      "2024-07-15T00:00:00.000Z",
      "2024-08-15T00:00:00.000Z",
      "2024-09-16T00:00:00.000Z",
    ]);
  });

  void it("1W on a Saturday is Monday the 3rd (never the previous month)", () => {
    // 2024-06-01 is a Saturday.
    assert.deepEqual(runs("0 0 1W * *", "UTC", "2024-05-31T12:00:00.000Z", 1), [
      "2024-06-03T00:00:00.000Z",
    ]);
  });

  void it("31W on a Sunday is Friday the 29th; months without a 31st are skipped", () => {
    // 2024-03-31 is a Sunday, 2024-08-31 a Saturday.
    assert.deepEqual(runs("0 0 31W * *", "UTC", "2024-03-01T00:00:00.000Z", 4), [
      "2024-03-29T00:00:00.000Z",
      "2024-05-31T00:00:00.000Z",
      "2024-07-31T00:00:00.000Z",
      "2024-08-30T00:00:00.000Z",
    ]);
  });

  void it("LW is the last weekday of the month", () => {
    // Last days 2024: Jan 31 Wed, Feb 29 Thu, Mar 31 Sun, Apr 30 Tue, May 31 Fri, Jun 30 Sun.
    assert.deepEqual(runs("0 0 LW * *", "UTC", JAN1, 6), [
      "2024-01-31T00:00:00.000Z",
      "2024-02-29T00:00:00.000Z",
      "2024-03-29T00:00:00.000Z",
      "2024-04-30T00:00:00.000Z",
      "2024-05-31T00:00:00.000Z",
      "2024-06-28T00:00:00.000Z",
    ]);
  });
});

void describe("syntax: seconds and years", () => {
  void it("6 fields: seconds first", () => {
    assert.deepEqual(runs("*/20 * * * * *", "UTC", JAN1, 3), [
      "2024-01-01T00:00:20.000Z",
      "2024-01-01T00:00:40.000Z",
      "2024-01-01T00:01:00.000Z",
    ]);
    assert.deepEqual(runs("30 0 12 * * *", "UTC", JAN1, 2), [
      "2024-01-01T12:00:30.000Z",
      "2024-01-02T12:00:30.000Z",
    ]);
  });

  void it("5 fields run at second 0, strictly after a sub-second start", () => {
    assert.deepEqual(runs("* * * * *", "UTC", "2024-01-01T00:00:59.999Z", 1), [
      "2024-01-01T00:01:00.000Z",
    ]);
  });

  void it("7 fields: year last; the schedule ends after its last year", () => {
    assert.deepEqual(runs("0 0 0 1 1 * 2030", "UTC", JAN1, 3), ["2030-01-01T00:00:00.000Z"]);
    assert.deepEqual(runs("0 0 0 1 1 * 2025-2027", "UTC", JAN1, 5), [
      "2025-01-01T00:00:00.000Z",
      "2026-01-01T00:00:00.000Z",
      "2027-01-01T00:00:00.000Z",
    ]);
    assert.deepEqual(runs("0 0 0 1 1 * 2030/10", "UTC", JAN1, 2), [
      "2030-01-01T00:00:00.000Z",
      "2040-01-01T00:00:00.000Z",
    ]);
    assert.equal(parseCron("0 0 0 1 1 * 2020", { timezone: "UTC" }).next(new Date(JAN1)), null);
  });
});

void describe("syntax: nicknames", () => {
  const cases: [string, string, string][] = [
    ["@yearly", "0 0 1 1 *", "2025-01-01T00:00:00.000Z"],
    ["@annually", "0 0 1 1 *", "2025-01-01T00:00:00.000Z"],
    ["@monthly", "0 0 1 * *", "2024-02-01T00:00:00.000Z"],
    ["@weekly", "0 0 * * 0", "2024-01-07T00:00:00.000Z"],
    ["@daily", "0 0 * * *", "2024-01-02T00:00:00.000Z"],
    ["@midnight", "0 0 * * *", "2024-01-02T00:00:00.000Z"],
    ["@hourly", "0 * * * *", "2024-01-01T01:00:00.000Z"],
  ];
  for (const [nickname, expansion, first] of cases) {
    void it(`${nickname} = ${expansion}`, () => {
      assert.deepEqual(runs(nickname, "UTC", JAN1, 1), [first]);
      assert.deepEqual(runs(nickname, "UTC", JAN1, 5), runs(expansion, "UTC", JAN1, 5));
      assert.deepEqual(
        runs(nickname.toUpperCase(), "Europe/Berlin", JAN1, 3),
        runs(expansion, "Europe/Berlin", JAN1, 3),
      );
    });
  }
});

void describe("syntax: day-of-month and day-of-week (Vixie)", () => {
  void it("neither field starts with *: OR (0 0 1,15 * MON)", () => {
    // February 2024: the 1st is a Thursday; Mondays are 5, 12, 19, 26.
    assert.deepEqual(runs("0 0 1,15 * MON", "UTC", "2024-01-31T00:00:00.000Z", 8), [
      "2024-02-01T00:00:00.000Z",
      "2024-02-05T00:00:00.000Z",
      "2024-02-12T00:00:00.000Z",
      "2024-02-15T00:00:00.000Z",
      "2024-02-19T00:00:00.000Z",
      "2024-02-26T00:00:00.000Z",
      "2024-03-01T00:00:00.000Z",
      "2024-03-04T00:00:00.000Z",
    ]);
  });

  void it("*/2 in day-of-month starts with *: AND (0 0 */2 * 1 = odd days that are Mondays)", () => {
    assert.deepEqual(runs("0 0 */2 * 1", "UTC", "2023-12-31T00:00:00.000Z", 7), [
      "2024-01-01T00:00:00.000Z",
      "2024-01-15T00:00:00.000Z",
      "2024-01-29T00:00:00.000Z",
      "2024-02-05T00:00:00.000Z",
      "2024-02-19T00:00:00.000Z",
      "2024-03-11T00:00:00.000Z",
      "2024-03-25T00:00:00.000Z",
    ]);
  });

  void it("a star in day-of-week makes day-of-month alone decide (0 0 */2 * *)", () => {
    assert.deepEqual(runs("0 0 */2 * *", "UTC", "2024-01-30T00:00:00.000Z", 3), [
      "2024-01-31T00:00:00.000Z",
      "2024-02-01T00:00:00.000Z",
      "2024-02-03T00:00:00.000Z",
    ]);
  });

  void it("1-31 is not a star: 0 0 1-31 * MON runs every day (OR)", () => {
    assert.deepEqual(runs("0 0 1-31 * MON", "UTC", JAN1, 3), [
      "2024-01-02T00:00:00.000Z",
      "2024-01-03T00:00:00.000Z",
      "2024-01-04T00:00:00.000Z",
    ]);
  });

  void it('dayMatch "and": both fields must match', () => {
    // 2024: Jan 1, Jan 15, Apr 1, Apr 15, Jul 1, Jul 15 are Mondays.
    assert.deepEqual(
      runs("0 0 1,15 * MON", "UTC", "2023-12-31T00:00:00.000Z", 6, { dayMatch: "and" }),
      [
        "2024-01-01T00:00:00.000Z",
        "2024-01-15T00:00:00.000Z",
        "2024-04-01T00:00:00.000Z",
        "2024-04-15T00:00:00.000Z",
        "2024-07-01T00:00:00.000Z",
        "2024-07-15T00:00:00.000Z",
      ],
    );
  });

  void it('dayMatch "or": either field, even when one starts with *', () => {
    // Odd days or Mondays, from Tuesday Jan 2.
    assert.deepEqual(
      runs("0 0 */2 * 1", "UTC", "2024-01-02T00:00:00.000Z", 5, { dayMatch: "or" }),
      [
        "2024-01-03T00:00:00.000Z",
        "2024-01-05T00:00:00.000Z",
        "2024-01-07T00:00:00.000Z",
        "2024-01-08T00:00:00.000Z",
        "2024-01-09T00:00:00.000Z",
      ],
    );
    assert.deepEqual(
      runs("0 0 1,15 * MON", "UTC", "2024-01-31T00:00:00.000Z", 8, { dayMatch: "or" }),
      runs("0 0 1,15 * MON", "UTC", "2024-01-31T00:00:00.000Z", 8),
    );
  });
});

void describe("syntax: the API around the fields", () => {
  void it("source, timezone and fixedTime", () => {
    const cron = parseCron("30 2 * * *", { timezone: "America/New_York" });
    assert.equal(cron.source, "30 2 * * *");
    assert.equal(cron.timezone, "America/New_York");
    assert.equal(cron.fixedTime, true);
    assert.equal(parseCron("*/5 2 * * *", { timezone: "UTC" }).fixedTime, false);
    assert.equal(parseCron("5 * * * *", { timezone: "UTC" }).fixedTime, false);
  });

  void it("next() is strictly after from, prev() strictly before", () => {
    const cron = parseCron("0 12 * * *", { timezone: "UTC" });
    const at = new Date("2024-01-01T12:00:00.000Z");
    assert.equal(cron.next(at)?.toISOString(), "2024-01-02T12:00:00.000Z");
    assert.equal(cron.prev(at)?.toISOString(), "2023-12-31T12:00:00.000Z");
    assert.equal(cron.matches(at), true);
    assert.equal(cron.matches(new Date("2024-01-01T12:00:00.500Z")), false);
    assert.equal(cron.nextMs(at.getTime()), Date.parse("2024-01-02T12:00:00.000Z"));
    assert.equal(cron.prevMs(at.getTime()), Date.parse("2023-12-31T12:00:00.000Z"));
  });

  void it("top-level nextRuns(expression, { from, count, timezone })", () => {
    assert.deepEqual(
      nextRuns("0 9 * * MON-FRI", {
        from: new Date("2024-01-05T12:00:00.000Z"),
        count: 3,
        timezone: "Europe/Berlin",
      }).map((d) => d.toISOString()),
      ["2024-01-08T08:00:00.000Z", "2024-01-09T08:00:00.000Z", "2024-01-10T08:00:00.000Z"],
    );
  });

  void it("extra whitespace between fields is allowed", () => {
    assert.deepEqual(runs("  0   12 *\t* *  ", "UTC", JAN1, 1), ["2024-01-01T12:00:00.000Z"]);
  });
});
