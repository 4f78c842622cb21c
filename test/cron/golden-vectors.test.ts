import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { CronSyntaxError, parseCron } from "../../src/cron/index.js";

/**
 * Every case of the golden vectors (expected next runs on which three
 * independent implementations agree). One `it` per zone and kind of case;
 * a failure lists every failing case by index, expression, zone and start.
 */

interface GoldenCase {
  readonly expr: string;
  readonly timezone: string;
  readonly from: string;
  readonly count: number;
  readonly expected?: readonly string[];
  readonly expectError?: boolean;
  readonly note?: string;
}

interface GoldenFile {
  readonly description: string;
  readonly cases: readonly GoldenCase[];
}

const file = JSON.parse(
  readFileSync(new URL("../fixtures/vectors/cron-golden.json", import.meta.url), "utf8"),
) as GoldenFile;

function label(index: number, c: GoldenCase): string {
  return `case #${index} ${JSON.stringify(c.expr)} in ${c.timezone} from ${c.from}${c.note ? ` (${c.note})` : ""}`;
}

/** Checks one case; returns a description of what went wrong, or null. */
function check(index: number, c: GoldenCase): string | null {
  const name = label(index, c);
  if (c.expectError === true) {
    try {
      parseCron(c.expr, { timezone: c.timezone });
    } catch (error) {
      if (error instanceof CronSyntaxError && error.code === "ERR_CRON_SYNTAX") return null;
      return `${name}: expected CronSyntaxError, got ${String(error)}`;
    }
    return `${name}: expected CronSyntaxError, but it parsed`;
  }
  const expected = c.expected ?? [];
  let got: string[];
  try {
    const cron = parseCron(c.expr, { timezone: c.timezone });
    got = cron.nextRuns(c.count, new Date(c.from)).map((d) => d.toISOString());
    if (got.length === expected.length && got.every((iso, i) => iso === expected[i])) {
      const notMatching = expected.filter((iso) => !cron.matches(new Date(iso)));
      if (notMatching.length > 0) {
        return `${name}: matches() is false for expected runs ${notMatching.join(", ")}`;
      }
      return null;
    }
  } catch (error) {
    return `${name}: threw ${String(error)}`;
  }
  return `${name}:\n  expected ${expected.join(" ")}\n  got      ${got.join(" ")}`;
}

const groups = new Map<string, { index: number; c: GoldenCase }[]>();
file.cases.forEach((c, index) => {
  const kind =
    c.expectError === true ? "must be rejected" : c.note ? "noted cases" : "generated cases";
  const key = `${c.timezone}: ${kind}`;
  const group = groups.get(key) ?? [];
  group.push({ index, c });
  groups.set(key, group);
});

void describe("golden vectors (test/fixtures/vectors/cron-golden.json)", () => {
  void it("holds the expected number of cases", () => {
    assert.equal(file.cases.length, 2103);
    let counted = 0;
    for (const group of groups.values()) counted += group.length;
    assert.equal(counted, file.cases.length);
  });

  for (const [key, group] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    void it(`${key} (${group.length} cases)`, () => {
      const failures = group
        .map(({ index, c }) => check(index, c))
        .filter((f): f is string => f !== null);
      assert.deepEqual(failures, [], `${failures.length} of ${group.length} cases failed`);
    });
  }
});
