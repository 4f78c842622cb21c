import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCron, type CronOptions } from "../../src/cron/index.js";

/**
 * docs/guides/cron.md, daylight saving (cronie's daemon): a
 * schedule is fixed-time when neither its minute nor its hour text starts with
 * `*`, otherwise wildcard. Skipped interval: fixed-time runs inside it run
 * once at the first instant after the jump; wildcard runs inside it do not
 * happen. Repeated interval: fixed-time runs once (first pass), wildcard on
 * both passes. `dst: { gap, overlap }` overrides each default.
 *
 * 2024 transitions used (local times; UTC instant of the change):
 * - America/New_York: Mar 10 02:00 EST -> 03:00 EDT (07:00Z); Nov 3 02:00 EDT -> 01:00 EST (06:00Z)
 * - Europe/London: Mar 31 01:00 GMT -> 02:00 BST (01:00Z); Oct 27 02:00 BST -> 01:00 GMT (01:00Z)
 * - Europe/Berlin: Mar 31 02:00 CET -> 03:00 CEST (01:00Z); Oct 27 03:00 CEST -> 02:00 CET (01:00Z)
 * - Australia/Lord_Howe: Apr 7 02:00 +11 -> 01:30 +10:30 (Apr 6 15:00Z); Oct 6 02:00 +10:30 -> 02:30 +11 (Oct 5 15:30Z)
 * - Pacific/Chatham: Apr 7 03:45 +13:45 -> 02:45 +12:45 (Apr 6 14:00Z); Sep 29 02:45 +12:45 -> 03:45 +13:45 (Sep 28 14:00Z)
 * - Asia/Kolkata (+05:30) and UTC: no changes.
 */

interface DstCase {
  readonly what: string;
  readonly expr: string;
  readonly zone: string;
  readonly from: string;
  readonly expected: readonly string[];
  readonly dst?: CronOptions["dst"];
}

const z = (hhmm: string, day: string): string => `${day}T${hhmm}:00.000Z`;

/**
 * Checks next() from `from` gives exactly `expected`, every run matches, and
 * prev() walks the same runs back: prev(run[i+1]) = run[i], prev(run[0]) <= from.
 */
function check(c: DstCase): void {
  const cron = parseCron(c.expr, { timezone: c.zone, ...(c.dst ? { dst: c.dst } : {}) });
  const label = `${c.expr} in ${c.zone} from ${c.from}${c.dst ? ` dst ${JSON.stringify(c.dst)}` : ""}`;
  const got = cron.nextRuns(c.expected.length, new Date(c.from)).map((d) => d.toISOString());
  assert.deepEqual(got, c.expected, `next runs of ${label}`);
  for (const iso of c.expected) assert.ok(cron.matches(new Date(iso)), `${label}: matches(${iso})`);
  for (let i = c.expected.length - 1; i > 0; i--) {
    assert.equal(
      cron.prev(new Date(c.expected[i]!))?.toISOString(),
      c.expected[i - 1],
      `${label}: prev(${c.expected[i]})`,
    );
  }
  const first = c.expected[0];
  if (first !== undefined) {
    const before = cron.prev(new Date(first));
    assert.ok(
      before === null || before.getTime() <= Date.parse(c.from),
      `${label}: prev(${first}) is ${before?.toISOString()}, after from`,
    );
    // Nothing between from and the first run, seen from the other side.
    if (before !== null)
      assert.equal(cron.next(before)?.toISOString(), first, `${label}: next(prev(first))`);
  }
}

function cases(title: string, list: readonly DstCase[]): void {
  void describe(title, () => {
    for (const c of list) {
      void it(c.what, () => {
        check(c);
      });
    }
  });
}

const NY_SPRING = "2024-03-10";
const NY_FALL = "2024-11-03";

cases("DST America/New_York, spring forward 2024-03-10 (02:00-03:00 skipped)", [
  {
    what: "issue example: fixed 30 2 * * * runs at the jump, then 06:30Z daily",
    expr: "30 2 * * *",
    zone: "America/New_York",
    from: z("05:30", NY_SPRING),
    expected: [z("07:00", NY_SPRING), z("06:30", "2024-03-11"), z("06:30", "2024-03-12")],
  },
  {
    what: "fixed 0 2 * * * (start of the gap) runs at the jump",
    expr: "0 2 * * *",
    zone: "America/New_York",
    from: z("00:00", NY_SPRING),
    expected: [z("07:00", NY_SPRING), z("06:00", "2024-03-11")],
  },
  {
    what: "two fixed times inside the gap run once, together, at the jump",
    expr: "15,45 2 * * *",
    zone: "America/New_York",
    from: z("00:00", NY_SPRING),
    expected: [z("07:00", NY_SPRING), z("06:15", "2024-03-11"), z("06:45", "2024-03-11")],
  },
  {
    what: "fixed 30 2,3: the shifted 02:30 and the real 03:30 both run",
    expr: "30 2,3 * * *",
    zone: "America/New_York",
    from: z("00:00", NY_SPRING),
    expected: [z("07:00", NY_SPRING), z("07:30", NY_SPRING), z("06:30", "2024-03-11")],
  },
  {
    what: "fixed 0 3 * * * (first time after the jump) runs once",
    expr: "0 3 * * *",
    zone: "America/New_York",
    from: z("00:00", NY_SPRING),
    expected: [z("07:00", NY_SPRING), z("07:00", "2024-03-11")],
  },
  {
    what: "fixed with seconds 0 30 2 * * * runs at the jump",
    expr: "0 30 2 * * *",
    zone: "America/New_York",
    from: z("00:00", NY_SPRING),
    expected: [z("07:00", NY_SPRING), z("06:30", "2024-03-11")],
  },
  {
    what: "wildcard 30 * * * *: 02:30 does not happen",
    expr: "30 * * * *",
    zone: "America/New_York",
    from: z("06:00", NY_SPRING),
    expected: [z("06:30", NY_SPRING), z("07:30", NY_SPRING), z("08:30", NY_SPRING)],
  },
  {
    what: "wildcard 0 * * * *: 01:00 EST then 03:00 EDT",
    expr: "0 * * * *",
    zone: "America/New_York",
    from: z("05:30", NY_SPRING),
    expected: [z("06:00", NY_SPRING), z("07:00", NY_SPRING), z("08:00", NY_SPRING)],
  },
  {
    what: "wildcard */15 2 * * * (all inside the gap) skips the day",
    expr: "*/15 2 * * *",
    zone: "America/New_York",
    from: z("05:00", NY_SPRING),
    expected: [z("06:00", "2024-03-11"), z("06:15", "2024-03-11")],
  },
  {
    what: 'override gap "skip": fixed 30 2 * * * does not run that day',
    expr: "30 2 * * *",
    zone: "America/New_York",
    from: z("05:30", NY_SPRING),
    dst: { gap: "skip" },
    expected: [z("06:30", "2024-03-11"), z("06:30", "2024-03-12")],
  },
  {
    what: 'override gap "shift": wildcard 30 * * * * runs 02:30 at the jump',
    expr: "30 * * * *",
    zone: "America/New_York",
    from: z("06:00", NY_SPRING),
    dst: { gap: "shift" },
    expected: [z("06:30", NY_SPRING), z("07:00", NY_SPRING), z("07:30", NY_SPRING)],
  },
  {
    what: 'override gap "shift": wildcard */15 2 * * * runs once at the jump',
    expr: "*/15 2 * * *",
    zone: "America/New_York",
    from: z("05:00", NY_SPRING),
    dst: { gap: "shift" },
    expected: [z("07:00", NY_SPRING), z("06:00", "2024-03-11")],
  },
]);

cases("DST America/New_York, fall back 2024-11-03 (01:00-02:00 twice)", [
  {
    what: "issue example: 0 1-3 * * * runs 01:00 once (first pass), then 02:00 and 03:00 EST",
    expr: "0 1-3 * * *",
    zone: "America/New_York",
    from: z("04:30", NY_FALL),
    expected: [z("05:00", NY_FALL), z("07:00", NY_FALL), z("08:00", NY_FALL)],
  },
  {
    what: "fixed 30 1 * * * runs on the first pass only",
    expr: "30 1 * * *",
    zone: "America/New_York",
    from: z("04:00", NY_FALL),
    expected: [z("05:30", NY_FALL), z("06:30", "2024-11-04")],
  },
  {
    what: "wildcard 30 * * * *: 01:30 runs on both passes",
    expr: "30 * * * *",
    zone: "America/New_York",
    from: z("04:00", NY_FALL),
    expected: [z("04:30", NY_FALL), z("05:30", NY_FALL), z("06:30", NY_FALL), z("07:30", NY_FALL)],
  },
  {
    what: "wildcard */30 1 * * *: both passes of hour 1",
    expr: "*/30 1 * * *",
    zone: "America/New_York",
    from: z("04:00", NY_FALL),
    expected: [
      z("05:00", NY_FALL),
      z("05:30", NY_FALL),
      z("06:00", NY_FALL),
      z("06:30", NY_FALL),
      z("06:00", "2024-11-04"),
    ],
  },
  {
    what: 'override overlap "both": fixed 30 1 * * * runs on both passes',
    expr: "30 1 * * *",
    zone: "America/New_York",
    from: z("04:00", NY_FALL),
    dst: { overlap: "both" },
    expected: [z("05:30", NY_FALL), z("06:30", NY_FALL), z("06:30", "2024-11-04")],
  },
  {
    what: 'override overlap "first": wildcard 30 * * * * runs 01:30 once',
    expr: "30 * * * *",
    zone: "America/New_York",
    from: z("04:00", NY_FALL),
    dst: { overlap: "first" },
    expected: [z("04:30", NY_FALL), z("05:30", NY_FALL), z("07:30", NY_FALL)],
  },
]);

cases("DST Europe/London 2024 (spring 01:00-02:00 skipped, fall 01:00-02:00 twice)", [
  {
    what: "spring: fixed 30 1 * * * runs at the jump (01:00Z)",
    expr: "30 1 * * *",
    zone: "Europe/London",
    from: "2024-03-30T00:00:00.000Z",
    expected: [z("01:30", "2024-03-30"), z("01:00", "2024-03-31"), z("00:30", "2024-04-01")],
  },
  {
    what: "spring: wildcard */15 * * * * skips 01:00-01:45 local",
    expr: "*/15 * * * *",
    zone: "Europe/London",
    from: z("00:30", "2024-03-31"),
    expected: [z("00:45", "2024-03-31"), z("01:00", "2024-03-31"), z("01:15", "2024-03-31")],
  },
  {
    what: "fall: fixed 30 1 * * * runs on the first pass (BST) only",
    expr: "30 1 * * *",
    zone: "Europe/London",
    from: "2024-10-26T12:00:00.000Z",
    expected: [z("00:30", "2024-10-27"), z("01:30", "2024-10-28")],
  },
  {
    what: "fall: wildcard 30 * * * * runs 01:30 BST and 01:30 GMT",
    expr: "30 * * * *",
    zone: "Europe/London",
    from: z("23:00", "2024-10-26"),
    expected: [
      z("23:30", "2024-10-26"),
      z("00:30", "2024-10-27"),
      z("01:30", "2024-10-27"),
      z("02:30", "2024-10-27"),
    ],
  },
]);

cases("DST Europe/Berlin 2024 (spring 02:00-03:00 skipped, fall 02:00-03:00 twice)", [
  {
    what: "issue example: wildcard 0 */2 * * * runs 02:00 CEST and 02:00 CET",
    expr: "0 */2 * * *",
    zone: "Europe/Berlin",
    from: z("23:30", "2024-10-26"),
    expected: [z("00:00", "2024-10-27"), z("01:00", "2024-10-27"), z("03:00", "2024-10-27")],
  },
  {
    what: "fall: fixed 30 2 * * * runs on the first pass only",
    expr: "30 2 * * *",
    zone: "Europe/Berlin",
    from: "2024-10-26T12:00:00.000Z",
    expected: [z("00:30", "2024-10-27"), z("01:30", "2024-10-28")],
  },
  {
    what: "spring: fixed 30 2 * * * runs at the jump (01:00Z)",
    expr: "30 2 * * *",
    zone: "Europe/Berlin",
    from: "2024-03-30T12:00:00.000Z",
    expected: [z("01:00", "2024-03-31"), z("00:30", "2024-04-01")],
  },
  {
    what: "spring: wildcard 0 */2 * * * skips 02:00",
    expr: "0 */2 * * *",
    zone: "Europe/Berlin",
    from: z("22:30", "2024-03-30"),
    expected: [z("23:00", "2024-03-30"), z("02:00", "2024-03-31"), z("04:00", "2024-03-31")],
  },
]);

cases("DST Australia/Lord_Howe 2024 (30-minute shifts)", [
  {
    what: "spring: fixed 15 2 * * * (inside 02:00-02:30) runs at the jump",
    expr: "15 2 * * *",
    zone: "Australia/Lord_Howe",
    from: z("12:00", "2024-10-04"),
    expected: [z("15:45", "2024-10-04"), z("15:30", "2024-10-05"), z("15:15", "2024-10-06")],
  },
  {
    what: "spring: fixed 30 2 * * * (first time after the jump) runs once",
    expr: "30 2 * * *",
    zone: "Australia/Lord_Howe",
    from: z("12:00", "2024-10-05"),
    expected: [z("15:30", "2024-10-05"), z("15:30", "2024-10-06")],
  },
  {
    what: "spring: wildcard */10 * * * * skips 02:00, 02:10, 02:20",
    expr: "*/10 * * * *",
    zone: "Australia/Lord_Howe",
    from: z("15:15", "2024-10-05"),
    expected: [z("15:20", "2024-10-05"), z("15:30", "2024-10-05"), z("15:40", "2024-10-05")],
  },
  {
    what: "fall: fixed 45 1 * * * (inside 01:30-02:00) runs on the first pass only",
    expr: "45 1 * * *",
    zone: "Australia/Lord_Howe",
    from: z("12:00", "2024-04-06"),
    expected: [z("14:45", "2024-04-06"), z("15:15", "2024-04-07")],
  },
  {
    what: "fall: wildcard */20 1 * * * runs 01:40 on both passes, 01:20 once",
    expr: "*/20 1 * * *",
    zone: "Australia/Lord_Howe",
    from: z("14:00", "2024-04-06"),
    expected: [
      z("14:20", "2024-04-06"),
      z("14:40", "2024-04-06"),
      z("15:10", "2024-04-06"),
      z("14:30", "2024-04-07"),
    ],
  },
  {
    what: 'fall: override overlap "both" runs fixed 45 1 * * * twice',
    expr: "45 1 * * *",
    zone: "Australia/Lord_Howe",
    from: z("12:00", "2024-04-06"),
    dst: { overlap: "both" },
    expected: [z("14:45", "2024-04-06"), z("15:15", "2024-04-06"), z("15:15", "2024-04-07")],
  },
]);

cases("DST Pacific/Chatham 2024 (+12:45 / +13:45)", [
  {
    what: "issue example: 45 3 * * * from 2024-09-28T12:30Z runs at 14:00Z",
    expr: "45 3 * * *",
    zone: "Pacific/Chatham",
    from: z("12:30", "2024-09-28"),
    expected: [z("14:00", "2024-09-28"), z("14:00", "2024-09-29")],
  },
  {
    what: "spring: fixed 0 3 * * * (inside 02:45-03:45) runs at the jump",
    expr: "0 3 * * *",
    zone: "Pacific/Chatham",
    from: z("12:00", "2024-09-27"),
    expected: [z("14:15", "2024-09-27"), z("14:00", "2024-09-28"), z("13:15", "2024-09-29")],
  },
  {
    what: "spring: wildcard 0 * * * * skips 03:00",
    expr: "0 * * * *",
    zone: "Pacific/Chatham",
    from: z("13:00", "2024-09-28"),
    expected: [z("13:15", "2024-09-28"), z("14:15", "2024-09-28"), z("15:15", "2024-09-28")],
  },
  {
    what: 'spring: override gap "skip" drops fixed 0 3 * * * that day',
    expr: "0 3 * * *",
    zone: "Pacific/Chatham",
    from: z("12:00", "2024-09-28"),
    dst: { gap: "skip" },
    expected: [z("13:15", "2024-09-29")],
  },
  {
    what: "fall: fixed 0 3 * * * runs on the first pass only",
    expr: "0 3 * * *",
    zone: "Pacific/Chatham",
    from: z("12:00", "2024-04-06"),
    expected: [z("13:15", "2024-04-06"), z("14:15", "2024-04-07")],
  },
  {
    what: "fall: wildcard 0 * * * * runs 03:00 on both passes",
    expr: "0 * * * *",
    zone: "Pacific/Chatham",
    from: z("12:50", "2024-04-06"),
    expected: [z("13:15", "2024-04-06"), z("14:15", "2024-04-06"), z("15:15", "2024-04-06")],
  },
  {
    what: 'fall: override overlap "both" runs fixed 0 3 * * * twice',
    expr: "0 3 * * *",
    zone: "Pacific/Chatham",
    from: z("12:00", "2024-04-06"),
    dst: { overlap: "both" },
    expected: [z("13:15", "2024-04-06"), z("14:15", "2024-04-06"), z("14:15", "2024-04-07")],
  },
]);

cases("no DST: Asia/Kolkata (+05:30) and UTC on New York's transition days", [
  {
    what: "Kolkata: fixed 30 2 * * * every day at 21:00Z",
    expr: "30 2 * * *",
    zone: "Asia/Kolkata",
    from: z("00:00", NY_SPRING),
    expected: [z("21:00", NY_SPRING), z("21:00", "2024-03-11"), z("21:00", "2024-03-12")],
  },
  {
    what: "Kolkata: wildcard 0 * * * * every hour at :30Z",
    expr: "0 * * * *",
    zone: "Asia/Kolkata",
    from: z("05:00", NY_FALL),
    expected: [z("05:30", NY_FALL), z("06:30", NY_FALL), z("07:30", NY_FALL)],
  },
  {
    what: "UTC: 30 2 * * * on New York's spring day",
    expr: "30 2 * * *",
    zone: "UTC",
    from: z("00:00", NY_SPRING),
    expected: [z("02:30", NY_SPRING), z("02:30", "2024-03-11")],
  },
  {
    what: "UTC: 0 1-3 * * * on New York's fall day",
    expr: "0 1-3 * * *",
    zone: "UTC",
    from: z("00:00", NY_FALL),
    expected: [z("01:00", NY_FALL), z("02:00", NY_FALL), z("03:00", NY_FALL)],
  },
]);

void describe("DST: defaults and overrides of the policy", () => {
  void it("fixed-time expressions default to shift/first, wildcard ones to skip/both", () => {
    const fixed = [
      "30 2 * * *",
      "0 1-3 * * *",
      "0,30 1,2 * * *",
      "0 30 2 * * *",
      "@daily",
      "15 2/3 * * *",
    ];
    const wildcard = [
      "30 * * * *",
      "*/15 2 * * *",
      "0 */2 * * *",
      "* 2 * * *",
      "@hourly",
      "* * * * *",
    ];
    for (const expr of fixed) {
      const cron = parseCron(expr, { timezone: "Europe/Berlin" });
      assert.equal(cron.fixedTime, true, expr);
      assert.deepEqual({ ...cron.dst }, { gap: "shift", overlap: "first" }, expr);
    }
    for (const expr of wildcard) {
      const cron = parseCron(expr, { timezone: "Europe/Berlin" });
      assert.equal(cron.fixedTime, false, expr);
      assert.deepEqual({ ...cron.dst }, { gap: "skip", overlap: "both" }, expr);
    }
  });

  void it("each half of the dst option overrides only itself", () => {
    const tz = { timezone: "America/New_York" };
    assert.deepEqual(
      { ...parseCron("30 2 * * *", { ...tz, dst: { gap: "skip" } }).dst },
      { gap: "skip", overlap: "first" },
    );
    assert.deepEqual(
      { ...parseCron("30 2 * * *", { ...tz, dst: { overlap: "both" } }).dst },
      { gap: "shift", overlap: "both" },
    );
    assert.deepEqual(
      { ...parseCron("30 * * * *", { ...tz, dst: { gap: "shift" } }).dst },
      { gap: "shift", overlap: "both" },
    );
    assert.deepEqual(
      { ...parseCron("30 * * * *", { ...tz, dst: { overlap: "first" } }).dst },
      { gap: "skip", overlap: "first" },
    );
  });
});

void describe("DST: prev() walks back exactly the runs next() walks forward", () => {
  const transitions: [string, string][] = [
    ["America/New_York", "2024-03-10T07:00:00.000Z"],
    ["America/New_York", "2024-11-03T06:00:00.000Z"],
    ["Europe/London", "2024-03-31T01:00:00.000Z"],
    ["Europe/London", "2024-10-27T01:00:00.000Z"],
    ["Europe/Berlin", "2024-03-31T01:00:00.000Z"],
    ["Europe/Berlin", "2024-10-27T01:00:00.000Z"],
    ["Australia/Lord_Howe", "2024-04-06T15:00:00.000Z"],
    ["Australia/Lord_Howe", "2024-10-05T15:30:00.000Z"],
    ["Pacific/Chatham", "2024-04-06T14:00:00.000Z"],
    ["Pacific/Chatham", "2024-09-28T14:00:00.000Z"],
    ["Asia/Kolkata", "2024-03-10T07:00:00.000Z"],
    ["UTC", "2024-03-10T07:00:00.000Z"],
    // Changes of clock, not daylight saving (test/cron/clock-changes.test.ts).
    ["Pacific/Apia", "2011-12-30T10:00:00.000Z"],
    ["Pacific/Fakaofo", "2011-12-30T11:00:00.000Z"],
    ["Pacific/Kiritimati", "1994-12-31T10:00:00.000Z"],
    ["Pacific/Kwajalein", "1969-09-30T13:00:00.000Z"],
    // Exactly 3 hours: still daylight saving.
    ["Antarctica/Casey", "2018-10-06T20:00:00.000Z"],
    ["Antarctica/Casey", "2019-03-16T16:00:00.000Z"],
  ];
  const expressions = [
    "*/5 * * * *",
    "0 * * * *",
    "30 * * * *",
    "15,45 * * * *",
    "0 1-3 * * *",
    "30 2 * * *",
    "15 2 * * *",
    "45 1 * * *",
    "45 3 * * *",
    "*/20 1-3 * * *",
    "0 0 * * *",
  ];
  const policies: (CronOptions["dst"] | undefined)[] = [
    undefined,
    { gap: "shift", overlap: "first" },
    { gap: "shift", overlap: "both" },
    { gap: "skip", overlap: "first" },
    { gap: "skip", overlap: "both" },
  ];
  const windowMs = 6 * 3_600_000;
  for (const [zone, at] of transitions) {
    void it(`${zone} around ${at}`, () => {
      const start = new Date(Date.parse(at) - windowMs);
      const end = Date.parse(at) + windowMs;
      for (const expr of expressions) {
        for (const dst of policies) {
          const cron = parseCron(expr, { timezone: zone, ...(dst ? { dst } : {}) });
          const label = `${expr} in ${zone} dst ${JSON.stringify(dst ?? cron.dst)}`;
          const forward: string[] = [];
          for (let t = cron.next(start); t !== null && t.getTime() < end; t = cron.next(t)) {
            forward.push(t.toISOString());
          }
          const backward: string[] = [];
          for (let t = cron.prev(new Date(end)); t !== null && t > start; t = cron.prev(t)) {
            backward.push(t.toISOString());
          }
          assert.deepEqual(backward.reverse(), forward, label);
        }
      }
    });
  }
});
