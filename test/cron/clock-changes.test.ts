import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCron, type CronOptions } from "../../src/cron/index.js";

/**
 * docs/guides/cron.md, daylight saving: only offset changes of at most 3 hours
 * are daylight saving. A bigger one is a change of clock (cronie's daemon calls
 * a jump of more than 3 * 60 minutes "large": it moves its virtual time to the
 * new clock and runs only the current minute). So no run is invented for local
 * times that never existed, local times that occur twice run on both passes,
 * and the per-task `dst` policy does not apply.
 *
 * Transitions used (UTC instant of the change, offsets before -> after):
 * - Pacific/Apia 2011-12-30T10:00Z, -10 -> +14: local 2011-12-30 never existed
 * - Pacific/Fakaofo 2011-12-30T11:00Z, -11 -> +13: local 2011-12-30 never existed
 * - Pacific/Kiritimati 1994-12-31T10:00Z, -10 -> +14: local 1994-12-31 never existed
 * - Pacific/Kwajalein 1969-09-30T13:00Z, +11 -> -12: local 1969-09-30 01:00-24:00 twice
 * - Antarctica/Casey 2018-10-06T20:00Z, +8 -> +11 and 2019-03-16T16:00Z, +11 -> +8:
 *   exactly 3 hours, still daylight saving
 * - America/New_York 2024-03-10T07:00Z, -5 -> -4: ordinary daylight saving
 */

interface Case {
  readonly what: string;
  readonly expr: string;
  readonly zone: string;
  readonly from: string;
  readonly expected: readonly string[];
  /** Instants that must not be runs (the ones daylight-saving rules would invent). */
  readonly notRuns?: readonly string[];
  readonly dst?: CronOptions["dst"];
}

/** next() from `from` gives `expected`; each matches; prev() walks them back to `from`. */
function check(c: Case): void {
  const cron = parseCron(c.expr, { timezone: c.zone, ...(c.dst ? { dst: c.dst } : {}) });
  const label = `${c.expr} in ${c.zone}${c.dst ? ` dst ${JSON.stringify(c.dst)}` : ""}`;
  const got = cron.nextRuns(c.expected.length, new Date(c.from)).map((d) => d.toISOString());
  assert.deepEqual(got, c.expected, `next runs of ${label} from ${c.from}`);
  for (const iso of c.expected) assert.ok(cron.matches(new Date(iso)), `${label}: matches(${iso})`);
  for (const iso of c.notRuns ?? []) {
    assert.equal(cron.matches(new Date(iso)), false, `${label}: matches(${iso})`);
  }
  const back: string[] = [];
  const last = c.expected[c.expected.length - 1]!;
  for (let t = new Date(Date.parse(last) + 1000); back.length < c.expected.length;) {
    const p = cron.prev(t);
    assert.ok(p !== null, `${label}: prev(${t.toISOString()})`);
    back.push(p.toISOString());
    t = p;
  }
  assert.deepEqual(back.reverse(), c.expected, `prev runs of ${label} from after ${last}`);
  const before = cron.prev(new Date(c.expected[0]!));
  assert.ok(
    before === null || before.getTime() <= Date.parse(c.from),
    `${label}: prev(${c.expected[0]}) is ${before?.toISOString()}, after ${c.from}`,
  );
}

function cases(title: string, list: readonly Case[]): void {
  void describe(title, () => {
    for (const c of list) {
      void it(c.what, () => {
        check(c);
      });
    }
  });
}

cases("Pacific/Apia 2011: 2011-12-30 skipped (-10 -> +14, 24 hours)", [
  {
    what: "fixed 0 12 * * *: Dec 29 and Dec 31 at 12:00, nothing for Dec 30",
    expr: "0 12 * * *",
    zone: "Pacific/Apia",
    from: "2011-12-29T00:00:00.000Z",
    expected: ["2011-12-29T22:00:00.000Z", "2011-12-30T22:00:00.000Z", "2011-12-31T22:00:00.000Z"],
    notRuns: ["2011-12-30T10:00:00.000Z"],
  },
  {
    what: "fixed 0 0 * * *: Dec 29 00:00, then Dec 31 00:00 (the first instant after the jump)",
    expr: "0 0 * * *",
    zone: "Pacific/Apia",
    from: "2011-12-29T00:00:00.000Z",
    expected: ["2011-12-29T10:00:00.000Z", "2011-12-30T10:00:00.000Z", "2011-12-31T10:00:00.000Z"],
  },
  {
    what: "wildcard 30 * * * *: Dec 29 23:30, then Dec 31 00:30",
    expr: "30 * * * *",
    zone: "Pacific/Apia",
    from: "2011-12-30T08:00:00.000Z",
    expected: ["2011-12-30T08:30:00.000Z", "2011-12-30T09:30:00.000Z", "2011-12-30T10:30:00.000Z"],
    notRuns: ["2011-12-30T10:00:00.000Z"],
  },
  {
    what: 'dst gap "shift" does not apply: fixed 0 12 * * * still skips Dec 30',
    expr: "0 12 * * *",
    zone: "Pacific/Apia",
    from: "2011-12-29T00:00:00.000Z",
    dst: { gap: "shift" },
    expected: ["2011-12-29T22:00:00.000Z", "2011-12-30T22:00:00.000Z"],
    notRuns: ["2011-12-30T10:00:00.000Z"],
  },
  {
    what: 'dst gap "shift" does not apply: wildcard 30 * * * * has no run at the jump',
    expr: "30 * * * *",
    zone: "Pacific/Apia",
    from: "2011-12-30T09:00:00.000Z",
    dst: { gap: "shift" },
    expected: ["2011-12-30T09:30:00.000Z", "2011-12-30T10:30:00.000Z"],
    notRuns: ["2011-12-30T10:00:00.000Z"],
  },
  {
    what: "the 1-hour changes of the same zone are daylight saving (fixed 30 3 * * * shifts)",
    expr: "30 3 * * *",
    zone: "Pacific/Apia",
    // 2012-09-30 03:00 +13 -> 04:00 +14 (2012-09-29T14:00Z): 03:30 never existed.
    from: "2012-09-28T00:00:00.000Z",
    expected: ["2012-09-28T14:30:00.000Z", "2012-09-29T14:00:00.000Z", "2012-09-30T13:30:00.000Z"],
  },
]);

cases("Pacific/Fakaofo 2011: 2011-12-30 skipped (-11 -> +13)", [
  {
    what: "fixed 0 12 * * *: nothing for Dec 30",
    expr: "0 12 * * *",
    zone: "Pacific/Fakaofo",
    from: "2011-12-29T00:00:00.000Z",
    expected: ["2011-12-29T23:00:00.000Z", "2011-12-30T23:00:00.000Z", "2011-12-31T23:00:00.000Z"],
    notRuns: ["2011-12-30T11:00:00.000Z"],
  },
  {
    what: "fixed 0 0 * * *: Dec 31 00:00 runs at the first instant after the jump",
    expr: "0 0 * * *",
    zone: "Pacific/Fakaofo",
    from: "2011-12-29T00:00:00.000Z",
    expected: ["2011-12-29T11:00:00.000Z", "2011-12-30T11:00:00.000Z", "2011-12-31T11:00:00.000Z"],
  },
  {
    what: "wildcard 30 * * * *: Dec 29 23:30, then Dec 31 00:30",
    expr: "30 * * * *",
    zone: "Pacific/Fakaofo",
    from: "2011-12-30T09:00:00.000Z",
    expected: ["2011-12-30T09:30:00.000Z", "2011-12-30T10:30:00.000Z", "2011-12-30T11:30:00.000Z"],
    notRuns: ["2011-12-30T11:00:00.000Z"],
  },
]);

cases("Pacific/Kiritimati 1994: 1994-12-31 skipped (-10 -> +14)", [
  {
    what: "fixed 0 12 * * *: Dec 30, then Jan 1, nothing for Dec 31",
    expr: "0 12 * * *",
    zone: "Pacific/Kiritimati",
    from: "1994-12-30T00:00:00.000Z",
    expected: ["1994-12-30T22:00:00.000Z", "1994-12-31T22:00:00.000Z", "1995-01-01T22:00:00.000Z"],
    notRuns: ["1994-12-31T10:00:00.000Z"],
  },
  {
    what: "fixed 0 0 * * *: Dec 30 00:00, then Jan 1 00:00 at the jump",
    expr: "0 0 * * *",
    zone: "Pacific/Kiritimati",
    from: "1994-12-30T00:00:00.000Z",
    expected: ["1994-12-30T10:00:00.000Z", "1994-12-31T10:00:00.000Z", "1995-01-01T10:00:00.000Z"],
  },
  {
    what: "wildcard 30 * * * *: Dec 30 23:30, then Jan 1 00:30",
    expr: "30 * * * *",
    zone: "Pacific/Kiritimati",
    from: "1994-12-31T09:00:00.000Z",
    expected: ["1994-12-31T09:30:00.000Z", "1994-12-31T10:30:00.000Z"],
    notRuns: ["1994-12-31T10:00:00.000Z"],
  },
]);

cases("Pacific/Kwajalein 1969: 1969-09-30 01:00-24:00 repeated (+11 -> -12)", [
  {
    what: "fixed 0 12 * * * runs on both passes of Sep 30",
    expr: "0 12 * * *",
    zone: "Pacific/Kwajalein",
    from: "1969-09-29T12:00:00.000Z",
    expected: ["1969-09-30T01:00:00.000Z", "1969-10-01T00:00:00.000Z", "1969-10-02T00:00:00.000Z"],
  },
  {
    what: 'dst overlap "first" does not apply: still both passes',
    expr: "0 12 * * *",
    zone: "Pacific/Kwajalein",
    from: "1969-09-29T12:00:00.000Z",
    dst: { overlap: "first" },
    expected: ["1969-09-30T01:00:00.000Z", "1969-10-01T00:00:00.000Z"],
  },
]);

cases("Antarctica/Casey: changes of exactly 3 hours are daylight saving", [
  {
    what: "forward 2018-10-07 04:00 -> 07:00: fixed 0 5 * * * runs at the jump",
    expr: "0 5 * * *",
    zone: "Antarctica/Casey",
    from: "2018-10-06T00:00:00.000Z",
    expected: ["2018-10-06T20:00:00.000Z", "2018-10-07T18:00:00.000Z"],
  },
  {
    what: "backward 2019-03-17 03:00 -> 00:00: fixed 0 1 * * * runs on the first pass only",
    expr: "0 1 * * *",
    zone: "Antarctica/Casey",
    from: "2019-03-16T00:00:00.000Z",
    expected: ["2019-03-16T14:00:00.000Z", "2019-03-17T17:00:00.000Z"],
    notRuns: ["2019-03-16T17:00:00.000Z"],
  },
]);

cases("America/New_York 2024-03-10: daylight saving unchanged", [
  {
    what: "fixed 30 2 * * * runs at the jump",
    expr: "30 2 * * *",
    zone: "America/New_York",
    from: "2024-03-10T00:00:00.000Z",
    expected: ["2024-03-10T07:00:00.000Z", "2024-03-11T06:30:00.000Z"],
  },
  {
    what: "wildcard 30 * * * * has no 02:30",
    expr: "30 * * * *",
    zone: "America/New_York",
    from: "2024-03-10T06:00:00.000Z",
    expected: ["2024-03-10T06:30:00.000Z", "2024-03-10T07:30:00.000Z"],
    notRuns: ["2024-03-10T07:00:00.000Z"],
  },
]);
