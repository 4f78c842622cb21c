import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { PlanView } from "../../src/core/plan-view.js";
import { cli, tempDirs } from "./daemon-process.js";

const tempDir = tempDirs("orchestrator-plan");

function scheduleFile(yaml: string): { dir: string; file: string } {
  const dir = tempDir();
  const file = join(dir, "schedule.yaml");
  writeFileSync(file, yaml);
  return { dir, file };
}

const NEW_YORK = `timezone: America/New_York
tasks:
  - name: nightly-backup
    schedule: "30 2 * * *"
    command: ["true"]
  - name: half-hourly
    schedule: "*/30 * * * *"
    command: ["true"]
`;

describe("orchestrator plan", () => {
  it("lists the runs in order, local and UTC, with the spring-forward day explained", () => {
    const { dir } = scheduleFile(NEW_YORK);
    const r = cli(
      [
        "plan",
        "schedule.yaml",
        "--from",
        "2024-03-10T01:00",
        "--to",
        "2024-03-10T04:00",
        "--tz",
        "America/New_York",
      ],
      { cwd: dir },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `schedule.yaml: 5 runs of 2 tasks from Sun 2024-03-10 01:00:00 -05:00 to Sun 2024-03-10 04:00:00 -04:00 (America/New_York)
  Sun 2024-03-10 01:00:00 -05:00  2024-03-10T06:00:00Z  half-hourly
  Sun 2024-03-10 01:30:00 -05:00  2024-03-10T06:30:00Z  half-hourly
  Sun 2024-03-10 03:00:00 -04:00  2024-03-10T07:00:00Z  half-hourly
  Sun 2024-03-10 03:00:00 -04:00  2024-03-10T07:00:00Z  nightly-backup  moved by daylight saving (spring forward)
  Sun 2024-03-10 03:30:00 -04:00  2024-03-10T07:30:00Z  half-hourly
Daylight saving:
  half-hourly: 2024-03-10 02:00–03:00 does not exist in America/New_York (clocks go forward): the 2 runs in it do not happen
  nightly-backup: 2024-03-10 02:00–03:00 does not exist in America/New_York (clocks go forward): the run in it runs at 03:00 instead
`,
    );
  });

  it("prints JSON: the Berlin fall-back runs a fixed-time task once, local times in --tz", () => {
    const { dir } = scheduleFile(`tasks:
  - name: berlin
    schedule: "30 2 * * *"
    timezone: Europe/Berlin
    command: ["true"]
  - name: twice-a-day
    every: 12h
    command: ["true"]
`);
    const r = cli(
      [
        "plan",
        "schedule.yaml",
        "--from",
        "2024-10-26T12:00:00Z",
        "--to",
        "2024-10-28T12:00:00Z",
        "--tz",
        "UTC",
        "--json",
      ],
      { cwd: dir },
    );
    assert.equal(r.code, 0, r.stderr);
    const view = JSON.parse(r.stdout) as PlanView & { file: string };
    assert.equal(view.timezone, "UTC");
    // An interval is anchored at --from, as run anchors it: its first run is one interval later.
    assert.deepEqual(
      view.runs.filter((run) => run.taskName === "twice-a-day").map((run) => run.at),
      ["2024-10-27T00:00:00.000Z", "2024-10-27T12:00:00.000Z", "2024-10-28T00:00:00.000Z"],
    );
    assert.deepEqual(
      view.runs.filter((run) => run.taskName === "berlin"),
      [
        {
          taskName: "berlin",
          at: "2024-10-27T00:30:00.000Z",
          local: "2024-10-27T00:30:00+00:00",
          dst: "first-pass",
        },
        {
          taskName: "berlin",
          at: "2024-10-28T01:30:00.000Z",
          local: "2024-10-28T01:30:00+00:00",
          dst: null,
        },
      ],
    );
    assert.deepEqual(
      view.dstChanges.map((c) => [c.taskName, c.kind, c.effect, c.localFrom, c.localTo]),
      [["berlin", "repeat", "once", "2024-10-27T02:00:00", "2024-10-27T03:00:00"]],
    );
    assert.equal(view.truncated, false);
  });

  it("caps a task that runs every second and says what it left out", () => {
    const { dir } = scheduleFile(`tasks:
  - name: every-second
    schedule: "* * * * * *"
    command: ["true"]
`);
    const r = cli(
      ["plan", "schedule.yaml", "--from", "2024-01-01T00:00:00Z", "--tz", "UTC", "--limit", "3"],
      { cwd: dir },
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 1 + 3 + 2);
    assert.match(lines[0]!, /86400 runs of 1 task/);
    assert.equal(
      lines[4],
      "  … 86397 more not listed (the first 3; raise --limit or narrow --from/--to)",
    );
    assert.equal(lines[5], "    every-second: 3 of 86400 listed");
  });

  it("refuses an invalid file as run would, with file, line and column (exit 1)", () => {
    const { dir } = scheduleFile(`tasks:
  - name: broken
    schedule: "0 25 * * *"
    command: ["true"]
`);
    const r = cli(["plan", "schedule.yaml"], { cwd: dir });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /schedule\.yaml:3:\d+: .*hour/i);
    assert.match(r.stderr, /schedule\.yaml: invalid, nothing planned/);
  });

  it("names the bad flag and what it accepts (exit 2)", () => {
    const { dir } = scheduleFile(NEW_YORK);
    const cases: [string[], RegExp][] = [
      [["--tz", "Mars/Olympus"], /^error: --tz must be an IANA time zone name/],
      [["--from", "tomorrow"], /^error: --from must be an ISO 8601 instant .* got "tomorrow"/],
      [["--from", "2024-03-10", "--to", "2024-03-09"], /^error: --to must be after --from/],
      [
        ["--from", "2024-01-01", "--to", "2025-06-01"],
        /^error: --from\.\.--to must span at most 366 days/,
      ],
      [["--limit", "0"], /^error: --limit must be a whole number from 1 to 100000, got "0"/],
    ];
    for (const [flags, message] of cases) {
      const r = cli(["plan", "schedule.yaml", ...flags], { cwd: dir });
      assert.equal(r.code, 2, flags.join(" "));
      assert.match(r.stderr, message, flags.join(" "));
    }
  });
});
