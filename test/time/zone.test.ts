import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  MAX_OFFSET_SPAN_MS,
  isValidTimeZone,
  processTimeZone,
  resolveZone,
} from "../../src/time/zone.js";
import { intlOffset } from "../helpers/intl-offset.js";

/**
 * src/time/zone.ts: offsets from Intl, computed once per year and answered
 * by arithmetic, as segments of constant offset. Known values are written as
 * hours; the sweep compares against an Intl oracle written here.
 */

const H = 3_600_000;
const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));

void describe("zone: offsets against known values", () => {
  const known: [string, string, number][] = [
    ["America/New_York", "2024-01-15T12:00:00.000Z", -5], // EST
    ["America/New_York", "2024-07-15T12:00:00.000Z", -4], // EDT
    ["America/New_York", "2024-03-10T06:59:59.999Z", -5],
    ["America/New_York", "2024-03-10T07:00:00.000Z", -4],
    ["America/New_York", "2024-11-03T05:59:59.999Z", -4],
    ["America/New_York", "2024-11-03T06:00:00.000Z", -5],
    ["America/New_York", "2006-04-02T07:00:00.000Z", -4], // pre-2007 rules: first Sunday of April
    ["America/New_York", "2006-03-12T12:00:00.000Z", -5],
    ["Pacific/Chatham", "2024-01-15T00:00:00.000Z", 13.75],
    ["Pacific/Chatham", "2024-07-15T00:00:00.000Z", 12.75],
    ["Pacific/Chatham", "2024-04-06T13:59:59.000Z", 13.75],
    ["Pacific/Chatham", "2024-04-06T14:00:00.000Z", 12.75],
    ["Pacific/Chatham", "2024-09-28T13:59:59.000Z", 12.75],
    ["Pacific/Chatham", "2024-09-28T14:00:00.000Z", 13.75],
    ["Australia/Lord_Howe", "2024-01-15T00:00:00.000Z", 11],
    ["Australia/Lord_Howe", "2024-07-15T00:00:00.000Z", 10.5],
    ["Australia/Lord_Howe", "2024-04-06T14:59:59.000Z", 11],
    ["Australia/Lord_Howe", "2024-04-06T15:00:00.000Z", 10.5],
    ["Australia/Lord_Howe", "2024-10-05T15:29:59.000Z", 10.5],
    ["Australia/Lord_Howe", "2024-10-05T15:30:00.000Z", 11],
    ["Asia/Kolkata", "2024-01-15T00:00:00.000Z", 5.5],
    ["Asia/Kolkata", "2024-07-15T00:00:00.000Z", 5.5],
    ["Asia/Kolkata", "1995-03-01T00:00:00.000Z", 5.5],
    ["Europe/London", "2024-01-15T00:00:00.000Z", 0],
    ["Europe/London", "2024-07-15T00:00:00.000Z", 1],
    ["Europe/Berlin", "2024-01-15T00:00:00.000Z", 1],
    ["Europe/Berlin", "2024-07-15T00:00:00.000Z", 2],
    ["Pacific/Apia", "2011-12-30T09:59:59.000Z", -10], // the day Samoa skipped
    ["Pacific/Apia", "2011-12-30T10:00:00.000Z", 14],
    ["UTC", "2024-07-15T00:00:00.000Z", 0],
  ];
  for (const [zone, when, hours] of known) {
    void it(`${zone} at ${when} is ${hours >= 0 ? "+" : ""}${hours} h`, () => {
      assert.equal(resolveZone(zone).offsetAt(at(when)), hours * H);
    });
  }
});

void describe("zone: segments around transitions", () => {
  const segments: [string, string, string, string, number, number][] = [
    // zone, inside, start, end, offset h, previous offset h
    [
      "America/New_York",
      "2024-06-01T00:00:00.000Z",
      "2024-03-10T07:00:00.000Z",
      "2024-11-03T06:00:00.000Z",
      -4,
      -5,
    ],
    [
      "America/New_York",
      "2024-12-25T00:00:00.000Z",
      "2024-11-03T06:00:00.000Z",
      "2025-03-09T07:00:00.000Z",
      -5,
      -4,
    ],
    // The same segment seen from the next calendar year.
    [
      "America/New_York",
      "2025-01-15T00:00:00.000Z",
      "2024-11-03T06:00:00.000Z",
      "2025-03-09T07:00:00.000Z",
      -5,
      -4,
    ],
    [
      "Europe/London",
      "2024-06-01T00:00:00.000Z",
      "2024-03-31T01:00:00.000Z",
      "2024-10-27T01:00:00.000Z",
      1,
      0,
    ],
    [
      "Europe/Berlin",
      "2024-12-01T00:00:00.000Z",
      "2024-10-27T01:00:00.000Z",
      "2025-03-30T01:00:00.000Z",
      1,
      2,
    ],
    [
      "Pacific/Chatham",
      "2024-01-15T00:00:00.000Z",
      "2023-09-23T14:00:00.000Z",
      "2024-04-06T14:00:00.000Z",
      13.75,
      12.75,
    ],
    [
      "Pacific/Chatham",
      "2024-07-01T00:00:00.000Z",
      "2024-04-06T14:00:00.000Z",
      "2024-09-28T14:00:00.000Z",
      12.75,
      13.75,
    ],
    [
      "Australia/Lord_Howe",
      "2024-07-01T00:00:00.000Z",
      "2024-04-06T15:00:00.000Z",
      "2024-10-05T15:30:00.000Z",
      10.5,
      11,
    ],
    [
      "Australia/Lord_Howe",
      "2024-12-01T00:00:00.000Z",
      "2024-10-05T15:30:00.000Z",
      "2025-04-05T15:00:00.000Z",
      11,
      10.5,
    ],
    [
      "Pacific/Apia",
      "2011-12-31T00:00:00.000Z",
      "2011-12-30T10:00:00.000Z",
      "2012-03-31T14:00:00.000Z",
      14,
      -10,
    ],
  ];
  for (const [zone, inside, start, end, offset, prev] of segments) {
    void it(`${zone}: the segment holding ${inside} runs ${start} to ${end}`, () => {
      const z = resolveZone(zone);
      const s = z.segmentAt(at(inside));
      assert.deepEqual(
        { start: iso(s.start), end: iso(s.end), offset: s.offsetMs / H, prev: s.prevOffsetMs / H },
        { start, end, offset, prev },
      );
      // Both edges: the start belongs to it, the instant before to the previous one.
      assert.deepEqual(z.segmentAt(at(start)), s);
      assert.equal(z.segmentAt(at(start) - 1).end, at(start));
      assert.equal(z.segmentAt(at(start) - 1).offsetMs, prev * H);
      assert.equal(z.segmentAt(at(end) - 1).end, at(end));
      assert.equal(z.segmentAt(at(end)).start, at(end));
      assert.equal(z.segmentAt(at(end)).prevOffsetMs, offset * H);
    });
  }

  void it("zones without changes: Asia/Kolkata and UTC", () => {
    const kolkata = resolveZone("Asia/Kolkata").segmentAt(at("2024-06-01T00:00:00.000Z"));
    assert.equal(kolkata.offsetMs, 5.5 * H);
    assert.equal(kolkata.prevOffsetMs, kolkata.offsetMs);
    assert.ok(
      kolkata.start <= at("2024-06-01T00:00:00.000Z") &&
        at("2024-06-01T00:00:00.000Z") < kolkata.end,
    );
    const utc = resolveZone("UTC");
    assert.equal(utc.fixed, true);
    assert.deepEqual(utc.segmentAt(at("2024-06-01T00:00:00.000Z")), {
      start: -Infinity,
      end: Infinity,
      offsetMs: 0,
      prevOffsetMs: 0,
    });
    assert.equal(resolveZone("Asia/Kolkata").fixed, false);
  });

  void it("segments agree with Intl everywhere (1990-2090 sweep, 11 zones)", () => {
    const zones = [
      "America/New_York",
      "Europe/London",
      "Europe/Berlin",
      "Australia/Lord_Howe",
      "Pacific/Chatham",
      "Asia/Kolkata",
      "UTC",
      "America/St_Johns",
      "Pacific/Apia",
      "Antarctica/Troll",
      "Africa/Casablanca",
    ];
    const failures: string[] = [];
    for (const zone of zones) {
      const z = resolveZone(zone);
      // Every ~9 days and 7 hours, so that every time of day and season is visited.
      for (
        let t = Date.UTC(1990, 0, 1);
        t < Date.UTC(2090, 0, 1);
        t += 9 * 86_400_000 + 7 * H + 13_000
      ) {
        const s = z.segmentAt(t);
        const expected = intlOffset(zone, t);
        if (s.offsetMs !== expected)
          failures.push(`${zone} ${iso(t)}: offset ${s.offsetMs}, Intl ${expected}`);
        if (!(s.start <= t && t < s.end))
          failures.push(`${zone} ${iso(t)}: outside [${iso(s.start)}, ${iso(s.end)})`);
        if (Number.isFinite(s.start) && s.prevOffsetMs !== s.offsetMs) {
          // A real transition: the offset changes exactly there.
          const before = intlOffset(zone, s.start - 1000);
          if (before !== s.prevOffsetMs || intlOffset(zone, s.start) !== s.offsetMs) {
            failures.push(
              `${zone} ${iso(t)}: transition at ${iso(s.start)} is not where Intl has it`,
            );
          }
        }
        if (Math.abs(s.offsetMs - s.prevOffsetMs) > MAX_OFFSET_SPAN_MS) {
          failures.push(`${zone} ${iso(t)}: offset change larger than MAX_OFFSET_SPAN_MS`);
        }
        if (failures.length > 20) break;
      }
    }
    assert.deepEqual(failures, []);
  });
});

void describe("zone: names and errors", () => {
  void it("an unknown zone is an InvalidArgumentError naming the zone", () => {
    for (const name of ["Mars/Olympus_Mons", "America/New York", "Europe/Berlinn", "+25:00"]) {
      assert.throws(
        () => resolveZone(name),
        (error: unknown) =>
          error instanceof InvalidArgumentError &&
          error.code === "ERR_INVALID_ARGUMENT" &&
          error.argument === "timezone" &&
          error.received === name &&
          error.message.includes(JSON.stringify(name)),
        name,
      );
      assert.equal(isValidTimeZone(name), false, name);
    }
  });

  void it("the error names the argument it was given", () => {
    assert.throws(
      () => resolveZone("Nowhere/City", "options.timezone"),
      (error: unknown) =>
        error instanceof InvalidArgumentError && error.argument === "options.timezone",
    );
  });

  void it("an empty or blank name is an InvalidArgumentError", () => {
    assert.throws(() => resolveZone(""), InvalidArgumentError);
    assert.throws(() => resolveZone("   "), InvalidArgumentError);
    assert.equal(isValidTimeZone(""), false);
  });

  void it("valid names, canonical case, UTC aliases", () => {
    for (const name of [
      "America/New_York",
      "Pacific/Chatham",
      "Australia/Lord_Howe",
      "Asia/Kolkata",
      "UTC",
      "Etc/UTC",
      "GMT",
    ]) {
      assert.equal(isValidTimeZone(name), true, name);
    }
    assert.equal(resolveZone("america/new_york").name, "America/New_York");
    assert.equal(resolveZone("Etc/UTC").offsetAt(0), 0);
    assert.equal(resolveZone("GMT").fixed, true);
  });

  void it("no zone means the process zone", () => {
    assert.equal(processTimeZone(), new Intl.DateTimeFormat().resolvedOptions().timeZone);
    const zone = resolveZone(undefined);
    const t = at("2024-07-15T12:00:00.000Z");
    assert.equal(zone.offsetAt(t), intlOffset(processTimeZone(), t));
  });

  void it("the same name gives the same answers every time", () => {
    const a = resolveZone("Europe/Berlin");
    const b = resolveZone("Europe/Berlin");
    for (const when of [
      "2024-03-31T00:59:59.000Z",
      "2024-03-31T01:00:00.000Z",
      "1999-12-31T23:00:00.000Z",
    ]) {
      assert.deepEqual(a.segmentAt(at(when)), b.segmentAt(at(when)));
    }
  });
});
