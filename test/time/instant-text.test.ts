import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatLocalIso, formatOffset, parseInstantText } from "../../src/time/instant-text.js";
import { resolveZone } from "../../src/time/zone.js";

const iso = (ms: number): string => new Date(ms).toISOString();

describe("parseInstantText", () => {
  const newYork = resolveZone("America/New_York");
  const berlin = resolveZone("Europe/Berlin");

  it("reads an instant with Z or an offset whatever the zone", () => {
    assert.equal(iso(parseInstantText("2024-03-10T05:30:00Z", berlin)), "2024-03-10T05:30:00.000Z");
    assert.equal(
      iso(parseInstantText("2024-03-10T00:30-05:00", berlin)),
      "2024-03-10T05:30:00.000Z",
    );
    assert.equal(
      iso(parseInstantText("2024-03-10T05:30:00.250Z", berlin)),
      "2024-03-10T05:30:00.250Z",
    );
  });

  it("reads a local date or date and time in the zone", () => {
    assert.equal(iso(parseInstantText("2024-03-10", newYork)), "2024-03-10T05:00:00.000Z");
    assert.equal(iso(parseInstantText("2024-07-01T12:00", berlin)), "2024-07-01T10:00:00.000Z");
    assert.equal(iso(parseInstantText("2024-07-01 12:00:30", berlin)), "2024-07-01T10:00:30.000Z");
  });

  it("takes the first pass of a repeated local time and the offset before a skipped one", () => {
    assert.equal(iso(parseInstantText("2024-11-03T01:30", newYork)), "2024-11-03T05:30:00.000Z");
    assert.equal(iso(parseInstantText("2024-10-27T02:30", berlin)), "2024-10-27T00:30:00.000Z");
    assert.equal(iso(parseInstantText("2024-03-10T02:30", newYork)), "2024-03-10T07:30:00.000Z");
    assert.equal(iso(parseInstantText("2024-03-31T02:30", berlin)), "2024-03-31T01:30:00.000Z");
  });

  it("answers NaN for what is not a date", () => {
    for (const text of [
      "",
      "now",
      "2024-02-30",
      "2024-13-01",
      "2024-01-01T24:00",
      "1700000000000",
      "2024-01-01T00:00+5",
    ]) {
      assert.ok(Number.isNaN(parseInstantText(text, berlin)), text);
    }
  });
});

describe("formatLocalIso", () => {
  it("writes the local time with its offset", () => {
    const newYork = resolveZone("America/New_York");
    assert.equal(
      formatLocalIso(Date.parse("2024-03-10T07:00:00Z"), newYork),
      "2024-03-10T03:00:00-04:00",
    );
    assert.equal(
      formatLocalIso(Date.parse("2024-03-10T06:59:59Z"), newYork),
      "2024-03-10T01:59:59-05:00",
    );
    assert.equal(formatLocalIso(0, resolveZone("UTC")), "1970-01-01T00:00:00+00:00");
    assert.equal(formatOffset(5.75 * 3_600_000), "+05:45");
    assert.equal(formatOffset(-9.5 * 3_600_000), "-09:30");
  });
});
