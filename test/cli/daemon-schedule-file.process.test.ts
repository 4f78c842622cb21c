import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { DaemonProcess, cli, tempDirs } from "./daemon-process.js";

// Issue 13, items 10 to 13, as users meet them: `validate` and `run` check a
// schedule file the same way, and a file with any error is applied not at all.

const tempDir = tempDirs("orchestrator-file");

/** A file `validate` used to call valid while `run` refused or broke its tasks. */
const ACCEPTED_BEFORE = [
  "tasks:",
  "  - name: backoff",
  "    every: 5m",
  '    command: ["true"]',
  "    retries: { attempts: 3, backoffMs: 60000, maxBackoffMs: 1000 }",
  "  - name: overflow",
  "    every: 1",
  '    command: ["true"]',
  "    timeoutMs: 2147483648",
  "  - name: host",
  "    every: 1h",
  "    module: { path: /etc/hostname }",
  "",
].join("\n");

const EXPECTED_ERRORS = [
  "schedule.yaml:5:61: `retries.maxBackoffMs` must be a duration not below backoffMs (60000 ms), got 1000 (number)",
  "schedule.yaml:7:12: `every` must be from 1000 ms (1 second) to 31622400000 ms (366 days), got 1 (1 ms)",
  "schedule.yaml:9:16: `timeoutMs` must be a whole number of milliseconds from 1 to 2147483647 ms (about 24.9 days), got 2147483648 (number)",
  "schedule.yaml:12:21: `module.path` must name a JavaScript or TypeScript module (.js .mjs .cjs .ts .mts .cts), got /etc/hostname",
];

/** A file that is valid but has what time made stale and a variable not set. */
const STALE = [
  "tasks:",
  "  - name: once",
  '    at: "2020-01-01T00:00:00Z"',
  '    command: ["true"]',
  "  - name: ended",
  '    schedule: "* * * * *"',
  '    endAt: "2021-01-01T00:00:00Z"',
  '    command: ["true"]',
  "  - name: token",
  '    schedule: "*/1 * * * * *"',
  '    command: ["sh", "-c", "echo $TOKEN"]',
  "    env:",
  '      TOKEN: "${ORCHESTRATOR_TEST_UNSET}"',
  "",
].join("\n");

const STALE_WARNINGS = [
  "schedule.yaml:3:9: warning: `at` 2020-01-01T00:00:00.000Z has passed: the task is kept as completed and will not run",
  "schedule.yaml:7:12: warning: `endAt` 2021-01-01T00:00:00.000Z has passed: the task is kept as completed (ended) and will not run",
  "schedule.yaml:13:15: warning: `env.TOKEN` refers to ${ORCHESTRATOR_TEST_UNSET}, which is not set: its runs will fail until it is",
];

describe("orchestrator validate and run check a schedule file alike", () => {
  it("validate: exit 1 with every error run would meet, by file:line:column, none quoting a file", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), ACCEPTED_BEFORE);
    const result = cli(["validate", "schedule.yaml"], { cwd: dir });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.deepEqual(result.stderr.trim().split("\n"), [
      ...EXPECTED_ERRORS,
      "schedule.yaml: 4 errors",
    ]);
    const host = existsSync("/etc/hostname")
      ? readFileSync("/etc/hostname", "utf8").trim()
      : hostname();
    assert.ok(host === "" || !result.stderr.includes(`\n${host}`), result.stderr);
  });

  it("run: exits 2 on that file, listing every error, and starts nothing", async (t) => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), ACCEPTED_BEFORE);
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    await daemon.waitFor(/is invalid \(see above\); nothing was started/);
    assert.equal((await daemon.exited).code, 2, daemon.output);
    for (const error of EXPECTED_ERRORS) {
      const located = error.replace("schedule.yaml", join(dir, "schedule.yaml"));
      assert.ok(
        daemon.lines.some((line) => line.includes(located)),
        `${error}\n${daemon.output}`,
      );
    }
    assert.equal(existsSync(join(dir, "orchestrator.db")), false);
  });

  it("validate: exit 0 with warnings for what time made stale and for unset variables", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), STALE);
    const result = cli(["validate", "schedule.yaml"], {
      cwd: dir,
      env: { ORCHESTRATOR_TEST_UNSET: undefined },
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(result.stderr.trim().split("\n"), STALE_WARNINGS);
    assert.equal(result.stdout, "schedule.yaml: valid, 3 tasks, 3 warnings\n");
  });

  it("run: starts with the same warnings and keeps stale tasks as completed; a later start too", async (t) => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), STALE);
    for (const expected of ["3 added", "3 unchanged"]) {
      const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
      t.after(() => daemon.dispose());
      await daemon.waitFor(new RegExp(`schedule applied: .*${expected}`));
      for (const warning of STALE_WARNINGS) {
        assert.ok(
          daemon.lines.some((line) =>
            line.includes(warning.replace("schedule.yaml", join(dir, "schedule.yaml"))),
          ),
          `${warning}\n${daemon.output}`,
        );
      }
      await daemon.waitFor(/run failed\s+task=token .*ORCHESTRATOR_TEST_UNSET/);
      daemon.kill("SIGTERM");
      assert.equal((await daemon.exited).code, 0, daemon.output);
      const list = JSON.parse(cli(["list", "--json"], { cwd: dir }).stdout) as {
        name: string;
        state: string;
      }[];
      assert.deepEqual(list.map((task) => [task.name, task.state]).sort(), [
        ["ended", "completed"],
        ["once", "completed"],
        ["token", "active"],
      ]);
    }
  });

  it("SIGHUP: a file with one good change and one error changes nothing; the error is logged at its position", async (t) => {
    const dir = tempDir();
    const file = join(dir, "schedule.yaml");
    const tasks = (a: string, bRetries: string): string =>
      `tasks:\n  - name: a\n    schedule: "*/1 * * * * *"\n    command: ["echo", "${a}"]\n  - name: b\n    every: 1h\n    command: ["true"]\n    retries: ${bRetries}\n`;
    writeFileSync(file, tasks("old-a", "{ attempts: 1 }"));
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    await daemon.waitFor(/run succeeded\s+task=a/);

    // `a` changes (valid); `b` asks for what registerTask refuses.
    writeFileSync(file, tasks("new-a", "{ attempts: 1, backoffMs: 5000, maxBackoffMs: 10 }"));
    daemon.kill("SIGHUP");
    const invalid = await daemon.waitFor(/schedule file invalid: kept the running schedule/);
    assert.ok(
      daemon.lines.some((line) =>
        line.includes(
          `${file}:8:60: \`retries.maxBackoffMs\` must be a duration not below backoffMs (5000 ms), got 10 (number)`,
        ),
      ),
      daemon.output,
    );
    const ran = await daemon.waitFor(/run succeeded\s+task=a/, invalid.index);
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
    assert.ok(ran.index > invalid.index);
    const runs = JSON.parse(cli(["history", "a", "--json"], { cwd: dir }).stdout) as {
      output: { stdout?: string } | null;
    }[];
    assert.ok(runs.length > 0);
    assert.ok(
      runs.every((run) => run.output?.stdout === "old-a\n"),
      JSON.stringify(runs.map((run) => run.output?.stdout)),
    );
  });
});

const dist = new URL("../../dist/", import.meta.url);
const built = existsSync(new URL("cli/bin.mjs", dist));

describe(
  "the built CLI checks a schedule file in its own thread",
  { skip: built ? false : "dist/ is missing: run npm run build" },
  () => {
    const script = (dir: string): string =>
      `const { loadScheduleOffThread } = require(${JSON.stringify(fileURLToPath(new URL("cli/load-schedule-off-thread.cjs", dist)))});\n` +
      `loadScheduleOffThread(${JSON.stringify(join(dir, "schedule.yaml"))}, { nowMs: Date.now() }).then((r) => console.log(JSON.stringify(r)));`;

    it("finds the thread's entry from the ESM and the CJS build", () => {
      const dir = tempDir();
      writeFileSync(join(dir, "jobs.mjs"), "export function run() {}\n");
      writeFileSync(
        join(dir, "schedule.yaml"),
        "tasks:\n  - name: m\n    every: 1h\n    module: { path: ./jobs.mjs, export: nope }\n",
      );
      const esm = spawnSync(
        process.execPath,
        [fileURLToPath(new URL("cli/bin.mjs", dist)), "validate", "schedule.yaml"],
        { cwd: dir, encoding: "utf8" },
      );
      assert.equal(esm.status, 1, esm.stdout + esm.stderr);
      assert.match(
        esm.stderr,
        /schedule\.yaml:4:41: the module .*jobs\.mjs exports no function "nope"/,
      );
      const cjs = spawnSync(process.execPath, ["-e", script(dir)], { cwd: dir, encoding: "utf8" });
      assert.equal(cjs.status, 0, cjs.stderr);
      const result = JSON.parse(cjs.stdout) as { ok: boolean; errors: { message: string }[] };
      assert.match(result.errors[0]?.message ?? "", /exports no function "nope"/);
    });
  },
);
