import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";

// The CLI as users run it: a subprocess, its exit code and its output.
const bin = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "orchestrator-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(
  args: string[],
  input?: string,
): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ["--import", "tsx", bin, ...args], {
    encoding: "utf8",
    input,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("orchestrator next", () => {
  it("prints the runs in words, UTC and local time", () => {
    const r = cli([
      "next",
      "30 2 * * *",
      "--tz",
      "America/New_York",
      "--from",
      "2024-03-10T05:30:00Z",
      "-n",
      "2",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "At 02:30 (America/New_York)\n" +
        "  2024-03-10T07:00:00.000Z  Sun 2024-03-10 03:00:00 local\n" +
        "  2024-03-11T06:30:00.000Z  Mon 2024-03-11 02:30:00 local\n",
    );
  });

  it("prints JSON with --json", () => {
    const r = cli([
      "next",
      "0 9 * * MON-FRI",
      "--tz",
      "Europe/Berlin",
      "--from",
      "2024-01-05T12:00:00Z",
      "-n",
      "2",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      expression: "0 9 * * MON-FRI",
      timezone: "Europe/Berlin",
      description: "At 09:00, Monday through Friday",
      runs: ["2024-01-08T08:00:00.000Z", "2024-01-09T08:00:00.000Z"],
    });
  });

  it("puts a caret under the bad column and exits 2", () => {
    const r = cli(["next", "0 25 * * *"]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'error: Invalid cron expression "0 25 * * *": hour 25 is out of range 0-23 (column 2)\n' +
        "  0 25 * * *\n" +
        "    ^\n",
    );
    assert.equal(r.stdout, "");
  });

  it("refuses an unknown zone, a bad --from and a bad count with exit 2", () => {
    assert.match(
      cli(["next", "* * * * *", "--tz", "Mars/Olympus"]).stderr,
      /unknown time zone "Mars\/Olympus"/,
    );
    assert.equal(cli(["next", "* * * * *", "--from", "yesterday"]).code, 2);
    const count = cli(["next", "* * * * *", "-n", "0"]);
    assert.equal(count.code, 2);
    assert.match(count.stderr, /-n\/--count must be a whole number from 1 to 10000/);
  });

  it("says when a schedule never fires", () => {
    const r = cli(["next", "0 0 30 2 *", "--tz", "UTC"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /never fires/);
  });
});

describe("orchestrator (program)", () => {
  it("--version prints the package version", () => {
    const pkg = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    const r = cli(["--version"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  it("--help on every command shows examples", () => {
    for (const command of [["next"], ["validate"], ["import-crontab"], ["keys", "generate"]]) {
      const r = cli([...command, "--help"]);
      assert.equal(r.code, 0, command.join(" "));
      assert.match(r.stdout, /Example/, command.join(" "));
    }
  });

  it("an unknown command exits 2", () => {
    const r = cli(["frobnicate"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });

  it("keys generate prints a 32-byte base64 key, and --id an id:key entry", () => {
    const key = cli(["keys", "generate"]).stdout.trim();
    assert.equal(Buffer.from(key, "base64").length, 32);
    assert.match(cli(["keys", "generate", "--id", "k2"]).stdout, /^k2:[A-Za-z0-9+/]{43}=\n$/);
  });
});

describe("orchestrator validate and import-crontab", () => {
  it("validate exits 0 on the example schedule and 1 with file:line:column errors", () => {
    const ok = cli([
      "validate",
      fileURLToPath(new URL("../../examples/schedule.yaml", import.meta.url)),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /valid, \d+ tasks?/);

    const file = join(dir, "bad.yaml");
    writeFileSync(
      file,
      'tasks:\n  - name: broken\n    schedule: "0 25 * * *"\n    command: ["true"]\n',
    );
    const bad = cli(["validate", file]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      new RegExp(
        `${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:3:\\d+: .*hour 25 is out of range 0-23`,
      ),
    );
  });

  it("import-crontab reads standard input and notes what it cannot carry", () => {
    const r = cli(
      ["import-crontab", "-"],
      "MAILTO=ops@example.com\n@reboot /usr/bin/start\n*/5 * * * * /usr/bin/backup --quick\n",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\*\/5 \* \* \* \*/);
    assert.match(r.stderr, /MAILTO/);
    assert.match(r.stderr, /@reboot/);
    const out = join(dir, "imported.yaml");
    const written = cli(["import-crontab", "-", "-o", out], "0 3 * * * /usr/bin/true\n");
    assert.equal(written.code, 0, written.stderr);
    assert.equal(cli(["validate", out]).code, 0);
  });
});
