import { createHash } from "node:crypto";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import {
  formatScheduleError,
  loadScheduleFile,
  parseScheduleText,
} from "../../src/cli/schedule-file.js";
import { errorsOf, NOW, positionOf, specOf } from "./helpers.js";

/** The single error of an invalid text, checked against the position of `needle`. */
function expectOne(
  text: string,
  needle: string,
  message: RegExp,
  occurrence = 1,
  offset = 0,
): void {
  const errors = errorsOf(text);
  assert.equal(errors.length, 1, errors.map(formatScheduleError).join("\n"));
  const [error] = errors;
  const at = positionOf(text, needle, occurrence);
  assert.deepEqual(
    { line: error?.line, column: error?.column },
    { line: at.line, column: at.column + offset },
    `${error?.message ?? ""}`,
  );
  assert.match(error?.message ?? "", message);
}

const task = (body: string): string => `tasks:\n  - name: job\n${body}`;

/** A module file that exists. */
const HANDLERS = fileURLToPath(new URL("../fixtures/handlers.mjs", import.meta.url));

void describe("schedule file: syntax", () => {
  void it("reports a YAML syntax error at its position", () => {
    const text = "tasks:\n  - name: a: b\n    every: 5m\n";
    const [error, ...rest] = errorsOf(text);
    assert.equal(rest.length, 0, "only the first syntax error is reported");
    assert.equal(error?.file, "schedule.yaml");
    assert.deepEqual([error?.line, error?.column], [2, 11]);
    assert.equal(
      error?.message,
      "invalid YAML: Nested mappings are not allowed in compact mappings",
    );
    const tabs = errorsOf("tasks:\n  - name: a\n\tevery: 5m\n");
    assert.deepEqual(
      tabs.map((e) => [e.line, e.column, e.message]),
      [[3, 1, "invalid YAML: Tabs are not allowed as indentation"]],
    );
  });

  void it("reports a duplicate YAML key at the second key", () => {
    const text = task("    every: 5m\n    every: 10m\n    command: [true]\n");
    expectOne(text, "every", /duplicate key/, 2);
  });

  void it("reports a JSON syntax error at its position", () => {
    const text = '{\n  "tasks": [\n    {"name": "a",}\n  ]\n}\n';
    const errors = errorsOf(text, "schedule.json");
    assert.equal(errors.length, 1);
    assert.deepEqual([errors[0]?.line, errors[0]?.column], [3, 18]);
    assert.match(errors[0]?.message ?? "", /^invalid JSON: /);
  });

  void it("reports a duplicate JSON key", () => {
    const text = '{"tasks": [],\n "tasks": []}';
    const errors = errorsOf(text, "schedule.json");
    assert.deepEqual([errors[0]?.line, errors[0]?.column, errors.length], [2, 2, 1]);
  });

  void it("reports an empty file", () => {
    const errors = errorsOf("# nothing yet\n");
    assert.deepEqual([errors[0]?.line, errors[0]?.column], [1, 1]);
    assert.match(errors[0]?.message ?? "", /empty.*tasks/);
  });

  void it("reports an unreadable file at 1:1", async () => {
    const result = await loadScheduleFile("/nonexistent/schedule.yaml", { now: NOW });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual([result.errors[0]?.line, result.errors[0]?.column], [1, 1]);
    assert.match(result.errors[0]?.message ?? "", /cannot read the schedule file: ENOENT/);
  });
});

void describe("schedule file: structure", () => {
  void it("rejects an unknown top-level key with a hint", () => {
    expectOne(
      "timezone: UTC\ntask:\n  - name: a\n",
      "task:",
      /unknown key `task`: did you mean `tasks`\?/,
    );
  });

  void it("requires the document to be a mapping", () => {
    expectOne(
      "- name: a\n",
      "-",
      /`the document` must be a mapping with a `tasks:` list, got an array/,
    );
  });

  void it("requires `tasks` to be a list", () => {
    expectOne("tasks: hello\n", "hello", /`tasks` must be a list of tasks, got "hello" \(string\)/);
  });

  void it("requires each task to be an object", () => {
    expectOne("tasks:\n  - just a string\n", "just", /`tasks\[0\]` must be an object/);
  });

  void it("reports a missing name at the task", () => {
    expectOne("tasks:\n  - every: 5m\n    command: [date]\n", "every", /missing `name`/);
  });

  void it("rejects an invalid name", () => {
    expectOne(
      "tasks:\n  - name: has spaces\n    every: 5m\n    command: [date]\n",
      "has",
      /`name` must be a name of letters/,
    );
  });

  void it("rejects duplicate task names at the second name", () => {
    const one = "  - name: twice\n    every: 5m\n    command: [date]\n";
    expectOne(
      `tasks:\n${one}${one}`,
      "twice",
      /duplicate task name "twice" \(first used by task 1\)/,
      2,
    );
  });

  void it("rejects an unknown task key with a did-you-mean", () => {
    expectOne(
      task("    every: 5m\n    command: [date]\n    timout: 5\n"),
      "timout",
      /unknown key `timout`: did you mean `timeoutMs`\?/,
    );
  });

  void it("rejects an unknown nested key, listing the allowed ones when nothing is close", () => {
    expectOne(
      task(`    every: 5m\n    module: { path: ${HANDLERS}, fn: run }\n`),
      "fn",
      /unknown key `fn` \(allowed: path, export\)/,
    );
  });
});

void describe("schedule file: triggers", () => {
  void it("requires one of schedule, every, at", () => {
    expectOne(
      task("    command: [date]\n"),
      "name",
      /the task needs a schedule: one of `schedule`, `every` or `at`/,
    );
  });

  void it("rejects two triggers at the second", () => {
    expectOne(
      task('    schedule: "* * * * *"\n    every: 5m\n    command: [date]\n'),
      "every",
      /`every` conflicts with `schedule`/,
    );
  });

  void it("rejects an interval that is not one", () => {
    expectOne(
      task("    every: 5 minutes\n    command: [date]\n"),
      "5 minutes",
      /`every` must be a positive interval/,
    );
    expectOne(
      task("    every: 0\n    command: [date]\n"),
      "0\n",
      /`every` must be a positive interval/,
    );
  });

  void it("rejects an `at` without a zone offset", () => {
    expectOne(
      task('    at: "2030-01-01T09:00:00"\n    command: [date]\n'),
      '"2030',
      /`at` must be an ISO 8601 instant with a zone offset/,
    );
  });

  void it("points a cron syntax error at the bad character inside a quoted string", () => {
    // "0 61 * * *": the hour field starts at index 2 of the expression, after the quote.
    expectOne(
      task('    schedule: "0 61 * * *"\n    command: [date]\n'),
      "61",
      /hour 61 is out of range/,
    );
  });

  void it("points a cron syntax error at the bad character inside a plain string", () => {
    expectOne(task("    schedule: 0 5-1 * * *\n    command: [date]\n"), "5-1", /reversed/);
  });

  void it("points a cron syntax error at the bad character in JSON too", () => {
    const text =
      '{"tasks": [\n  {"name": "a", "schedule": "0 0 * JANUARY *", "command": ["date"]}\n]}\n';
    const errors = errorsOf(text, "schedule.json");
    assert.equal(errors.length, 1);
    const at = positionOf(text, "JANUARY");
    assert.deepEqual([errors[0]?.line, errors[0]?.column], [at.line, at.column]);
  });

  void it("rejects a schedule that never fires", () => {
    expectOne(task('    schedule: "0 0 30 2 *"\n    command: [date]\n'), '"0 0 30', /never fires/);
  });

  void it("rejects a schedule whose last run is before now", () => {
    expectOne(
      task('    schedule: "0 0 0 1 1 * 2020"\n    command: [date]\n'),
      '"0 0 0 1 1',
      /never fires/,
    );
  });

  void it("rejects an unknown time zone with a hint, in a task and at the top", () => {
    expectOne(
      task("    every: 5m\n    timezone: Europe/Berlinn\n    command: [date]\n"),
      "Europe",
      /unknown time zone "Europe\/Berlinn": did you mean "Europe\/Berlin"\?/,
    );
    expectOne(
      "timezone: America/New_Yrok\ntasks: []\n",
      "America",
      /did you mean "America\/New_York"\?/,
    );
  });

  void it("rejects endAt not after startAt", () => {
    const text = task(
      '    every: 5m\n    command: [date]\n    startAt: "2030-01-02T00:00:00Z"\n    endAt: "2030-01-01T00:00:00Z"\n',
    );
    expectOne(text, '"2030-01-01', /`endAt` must be later than `startAt`/);
  });
});

void describe("schedule file: actions", () => {
  void it("requires an action", () => {
    expectOne(
      task("    every: 5m\n"),
      "name",
      /the task needs an action: one of `command`, `http` or `module`/,
    );
  });

  void it("rejects two actions at the second", () => {
    expectOne(
      task("    every: 5m\n    command: [date]\n    http: { url: http://x }\n"),
      "http",
      /`http` conflicts with `command`/,
    );
  });

  void it("requires shell: true for a string command", () => {
    expectOne(
      task("    every: 5m\n    command: backup.sh --full\n"),
      "backup",
      /add `shell: true`/,
    );
  });

  void it("rejects shell: true with an argv list", () => {
    expectOne(
      task("    every: 5m\n    command: [backup.sh]\n    shell: true\n"),
      "shell",
      /needs the command written as one string/,
    );
  });

  void it("rejects command-only keys on other actions", () => {
    expectOne(
      task("    every: 5m\n    http: { url: http://x }\n    cwd: /tmp\n"),
      "cwd",
      /`cwd` applies only to `command` tasks/,
    );
  });

  void it("reads orphans (stop or wait) on a command task, and only there", () => {
    const action = specOf(task("    every: 5m\n    command: [backup.sh]\n    orphans: wait\n"))
      .tasks[0]?.action;
    assert.equal(action?.kind === "command" ? action.orphans : undefined, "wait");
    const plain = specOf(task("    every: 5m\n    command: [backup.sh]\n")).tasks[0]?.action;
    assert.equal(plain !== undefined && "orphans" in plain, false, "absent unless written");
    expectOne(
      task("    every: 5m\n    command: [backup.sh]\n    orphans: later\n"),
      "later",
      /`orphans` must be one of stop, wait: what a daemon restarted after a crash does/,
    );
    expectOne(
      task("    every: 5m\n    http: { url: http://x }\n    orphans: wait\n"),
      "orphans",
      /`orphans` applies only to `command` tasks/,
    );
  });

  void it("rejects an empty argv element", () => {
    expectOne(
      task('    every: 5m\n    command: [backup.sh, ""]\n'),
      '""',
      /`command\[1\]` must be a non-empty string/,
    );
  });

  void it("rejects a non-string env value, asking to quote it", () => {
    expectOne(
      task("    every: 5m\n    command: [date]\n    env:\n      RETRIES: 5\n"),
      "5\n",
      /`env.RETRIES` must be a string \(quote numbers and booleans\), got 5 \(number\)/,
    );
  });

  void it("points a malformed ${} reference at its column", () => {
    const text = task(
      '    every: 5m\n    command: [date]\n    env:\n      URL: "https://${HOST/x"\n',
    );
    expectOne(text, "${HOST", /unterminated reference/);
    const headers = task(
      "    every: 5m\n    http:\n      url: http://x\n      headers:\n        X-Key: key-${1BAD}\n",
    );
    expectOne(headers, "${1BAD}", /not a valid reference/);
  });

  void it("rejects a bad HTTP method with a hint, a bad URL, a bad status", () => {
    expectOne(
      task("    every: 5m\n    http: { url: http://x, method: PSOT }\n"),
      "PSOT",
      /`http.method` must be one of GET.*: did you mean "POST"\?/,
    );
    expectOne(
      task("    every: 5m\n    http: { url: ftp://x }\n"),
      "ftp",
      /`http.url` must be an http:\/\/ or https:\/\/ URL/,
    );
    expectOne(
      task("    every: 5m\n    http: { url: http://x, expectStatus: 99 }\n"),
      "99",
      /`http.expectStatus` must be an HTTP status/,
    );
  });

  void it("rejects a body on GET", () => {
    expectOne(
      task("    every: 5m\n    http: { url: http://x, body: hi }\n"),
      "body",
      /a GET request cannot have a `body`/,
    );
  });

  void it("reports a missing module file", () => {
    expectOne(
      task("    every: 5m\n    module: { path: ./missing.mjs }\n"),
      "./missing",
      /module not found: \/nonexistent\/missing\.mjs/,
    );
  });
});

void describe("schedule file: options", () => {
  void it("rejects a bad enum with a did-you-mean", () => {
    expectOne(
      task("    every: 5m\n    command: [date]\n    overlap: queu\n"),
      "queu",
      /`overlap` must be one of skip, queue, allow.*did you mean "queue"\?/,
    );
    expectOne(
      task("    every: 5m\n    command: [date]\n    misfire: run-al\n"),
      "run-al",
      /did you mean "run-all"\?/,
    );
  });

  void it("rejects negative and fractional durations", () => {
    expectOne(
      task("    every: 5m\n    command: [date]\n    jitterMs: -5\n"),
      "-5",
      /`jitterMs` must be a whole number of milliseconds from 0 to 2592000000 ms \(30 days\), got -5 \(number\)/,
    );
    expectOne(
      task("    every: 5m\n    command: [date]\n    timeoutMs: 1.5\n"),
      "1.5",
      /`timeoutMs` must be a whole number of milliseconds from 1 to 2147483647 ms/,
    );
    expectOne(
      task("    every: 5m\n    command: [date]\n    maxRuns: 0\n"),
      "0\n",
      /`maxRuns` must be a whole number ≥ 1/,
    );
  });

  void it("rejects bad retry settings at the nested key", () => {
    expectOne(
      task("    every: 5m\n    command: [date]\n    retries: { attempts: 3, factor: 0.5 }\n"),
      "0.5",
      /`retries.factor` must be a number ≥ 1/,
    );
  });

  void it("reports every error of a file at once, sorted by position", () => {
    const text = [
      "tasks:",
      "  - name: a",
      "    schedul: '* * * * *'",
      "    command: [date]",
      "  - name: b",
      "    every: 5m",
      "    command: [date]",
      "    overlap: never",
      "",
    ].join("\n");
    const errors = errorsOf(text).map(formatScheduleError);
    assert.deepEqual(errors, [
      "schedule.yaml:2:5: the task needs a schedule: one of `schedule`, `every` or `at`",
      "schedule.yaml:3:5: unknown key `schedul`: did you mean `schedule`?",
      'schedule.yaml:8:14: `overlap` must be one of skip, queue, allow (in `dst`: one of first, both), got "never" (string)',
    ]);
  });

  void it("reports JSON errors with positions too", () => {
    const text =
      '{\n  "tasks": [\n    { "name": "a", "every": "5m", "command": ["date"], "retry": 3 }\n  ]\n}\n';
    const errors = errorsOf(text, "schedule.json");
    assert.equal(errors.length, 1);
    assert.deepEqual(
      [errors[0]?.line, errors[0]?.column],
      [positionOf(text, '"retry"').line, positionOf(text, '"retry"').column],
    );
    assert.match(errors[0]?.message ?? "", /did you mean `retries`\?/);
  });
});

void describe("schedule file: valid files", () => {
  void it("returns typed specs with defaults, resolved paths and kept ${} references", () => {
    const spec = specOf(
      [
        "timezone: Europe/Berlin",
        "tasks:",
        "  - name: backup",
        '    schedule: "30 2 * * *"',
        "    command: pg_dump app > app.sql",
        "    shell: true",
        "    cwd: backups",
        '    env: { PGPASSWORD: "${PGPASSWORD}" }',
        "    timeoutMs: 60000",
        "    retries: 2",
        "  - name: ping",
        "    every: 90s",
        "    timezone: UTC",
        "    http:",
        "      method: POST",
        "      url: https://example.com/hook",
        '      headers: { Authorization: "Bearer ${TOKEN}" }',
        "      body: { ok: true }",
        "      expectStatus: [200, 204]",
        "    overlap: queue",
        "    misfire: run-all",
        "    misfireGraceMs: 0",
        "    jitterMs: 100",
        "  - name: once",
        '    at: "2030-01-01T09:00:00+01:00"',
        "    module: { path: jobs/report.mjs }",
        "    payload: [1, two]",
        '    startAt: "2029-01-01T00:00:00Z"',
        "    maxRuns: 1",
        "",
      ].join("\n"),
    );
    assert.deepEqual(spec.tasks, [
      {
        name: "backup",
        trigger: { kind: "cron", expression: "30 2 * * *" },
        timezone: "Europe/Berlin",
        action: {
          kind: "command",
          shell: true,
          script: "pg_dump app > app.sql",
          cwd: "/srv/app/backups",
          env: { PGPASSWORD: "${PGPASSWORD}" },
          timeoutMs: 60000,
        },
        options: { timeoutMs: 60000, retries: { attempts: 2 } },
        position: { line: 3, column: 5 },
      },
      {
        name: "ping",
        trigger: { kind: "every", intervalMs: 90_000 },
        timezone: "UTC",
        action: {
          kind: "http",
          method: "POST",
          url: "https://example.com/hook",
          headers: { Authorization: "Bearer ${TOKEN}" },
          body: { ok: true },
          expectStatus: [200, 204],
        },
        options: { overlap: "queue", misfire: "run-all", misfireGraceMs: 0, jitterMs: 100 },
        position: { line: 11, column: 5 },
      },
      {
        name: "once",
        trigger: { kind: "at", at: new Date("2030-01-01T08:00:00Z") },
        timezone: "Europe/Berlin",
        action: { kind: "module", path: "/srv/app/jobs/report.mjs", export: "default" },
        options: { startAt: new Date("2029-01-01T00:00:00Z"), maxRuns: 1 },
        payload: [1, "two"],
        position: { line: 24, column: 5 },
      },
    ]);
  });

  void it("loads an argv command from JSON, resolving paths against the file's folder", async () => {
    const dir = await mkdtemp(join(tmpdir(), "orchestrator-schedule-"));
    try {
      const file = join(dir, "schedule.json");
      await writeFile(
        file,
        JSON.stringify({
          tasks: [{ name: "a", schedule: "*/10 * * * * *", command: ["echo", "hi"], cwd: "." }],
        }),
      );
      const result = await loadScheduleFile(file, { now: NOW });
      assert.ok(result.ok);
      assert.deepEqual(result.schedule.tasks[0]?.action, {
        kind: "command",
        shell: false,
        argv: ["echo", "hi"],
        cwd: dir,
        env: {},
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it("accepts an empty task list", () => {
    const result = parseScheduleText("tasks: []\n", { file: "s.yaml", now: NOW });
    const sha256 = createHash("sha256").update("tasks: []\n").digest("hex");
    assert.deepEqual(result, {
      ok: true,
      schedule: { file: "s.yaml", tasks: [], sha256 },
      warnings: [],
    });
  });
});
