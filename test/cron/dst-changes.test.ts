import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCron, type CronOptions, type DstChange } from "../../src/cron/index.js";

function changes(
  expression: string,
  timezone: string,
  after: string,
  through: string,
  dst?: CronOptions["dst"],
): DstChange[] {
  return parseCron(expression, { timezone, ...(dst ? { dst } : {}) }).dstChangesBetweenMs(
    Date.parse(after),
    Date.parse(through),
  );
}

const brief = (c: DstChange): string =>
  `${new Date(c.atMs).toISOString()} ${c.kind} ${new Date(c.localFromMs).toISOString().slice(11, 16)}-${new Date(c.localToMs).toISOString().slice(11, 16)} ${c.matching} ${c.effect}`;

describe("CronExpression.dstChangesBetweenMs", () => {
  it("lists a year's changes of a zone with each one's effect on the expression", () => {
    assert.deepEqual(
      changes("30 2 * * *", "America/New_York", "2024-01-01T00:00Z", "2025-01-01T00:00Z").map(
        brief,
      ),
      [
        "2024-03-10T07:00:00.000Z gap 02:00-03:00 1 shifted",
        "2024-11-03T06:00:00.000Z repeat 01:00-02:00 0 none",
      ],
    );
    assert.deepEqual(
      changes("*/15 1 * * *", "America/New_York", "2024-01-01T00:00Z", "2025-01-01T00:00Z").map(
        brief,
      ),
      [
        "2024-03-10T07:00:00.000Z gap 02:00-03:00 0 none",
        "2024-11-03T06:00:00.000Z repeat 01:00-02:00 4 twice",
      ],
    );
    assert.deepEqual(
      changes("30 2 * * *", "Europe/Berlin", "2024-01-01T00:00Z", "2025-01-01T00:00Z", {
        gap: "skip",
        overlap: "both",
      }).map(brief),
      [
        "2024-03-31T01:00:00.000Z gap 02:00-03:00 1 skipped",
        "2024-10-27T01:00:00.000Z repeat 02:00-03:00 1 twice",
      ],
    );
  });

  it("counts half-hour changes (Lord Howe) and offsets both ways", () => {
    const found = changes(
      "0,15,45 1,2 * * *",
      "Australia/Lord_Howe",
      "2024-01-01T00:00Z",
      "2025-01-01T00:00Z",
    );
    assert.deepEqual(found.map(brief), [
      "2024-04-06T15:00:00.000Z repeat 01:30-02:00 1 once",
      "2024-10-05T15:30:00.000Z gap 02:00-02:30 2 shifted",
    ]);
    assert.equal(found[0]!.offsetBeforeMs, 11 * 3_600_000);
    assert.equal(found[0]!.offsetAfterMs, 10.5 * 3_600_000);
  });

  it("leaves out changes of clock larger than 3 hours (Apia skipped 2011-12-30) and fixed zones", () => {
    assert.deepEqual(
      changes("0 12 * * *", "Pacific/Apia", "2011-12-29T00:00Z", "2011-12-31T12:00Z"),
      [],
    );
    assert.deepEqual(changes("* * * * *", "UTC", "2024-01-01T00:00Z", "2025-01-01T00:00Z"), []);
  });

  it("agrees with next(): a shifted gap's instant is a run, a skipped gap leaves no run in it", () => {
    for (const [expression, dst] of [
      ["30 2 * * *", undefined],
      ["*/20 2 * * *", undefined],
      ["30 2 * * *", { gap: "skip" as const }],
    ] as const) {
      const cron = parseCron(expression, { timezone: "America/New_York", ...(dst ? { dst } : {}) });
      const [change] = cron.dstChangesBetweenMs(
        Date.parse("2024-03-09T00:00Z"),
        Date.parse("2024-03-11T00:00Z"),
      );
      assert.ok(change);
      const next = cron.next(new Date(change.atMs - 3_600_000 - 1000))!.getTime();
      if (change.effect === "shifted") assert.equal(next, change.atMs, expression);
      else assert.ok(next > change.atMs, expression);
    }
  });
});
