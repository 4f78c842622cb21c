import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  checkScheduleFile,
  formatScheduleError,
  formatScheduleWarning,
  parseScheduleText,
} from "../../src/cli/schedule-file.js";
import type { ScheduleLoadResult } from "../../src/cli/schedule-spec.js";
import { errorsOf, NOW, positionOf } from "./helpers.js";

// Issue 13, items 10 and 13: what `run` would refuse is an error of the file
// at its key; what time alone made stale, and `${NAME}` references to unset
// variables, are warnings; modules must be JS/TS modules that export the function.

function warningsOf(text: string, envNames?: readonly string[]): string[] {
  const result = parseScheduleText(text, {
    file: "s.yaml",
    now: NOW,
    baseDir: "/srv/app",
    checkModules: false,
    ...(envNames === undefined ? {} : { envNames }),
  });
  assert.equal(result.ok, true, result.ok ? "" : result.errors.map(formatScheduleError).join("\n"));
  return result.warnings.map(formatScheduleWarning);
}

function at(text: string, needle: string, offset = 0): string {
  const { line, column } = positionOf(text, needle);
  return `s.yaml:${line}:${column + offset}`;
}

function messages(result: ScheduleLoadResult): string[] {
  return (result.ok ? [] : result.errors).map(formatScheduleError);
}

describe("schedule file: registerTask's own checks (item 10)", () => {
  it("reports a task that would never run between startAt and endAt, at its schedule", () => {
    const text =
      'tasks:\n  - name: job\n    schedule: "0 0 1 1 *"\n    command: [date]\n    startAt: "2030-02-01T00:00:00Z"\n    endAt: "2030-03-01T00:00:00Z"\n';
    const errors = errorsOf(text).map(formatScheduleError);
    assert.deepEqual(errors, [
      `schedule.yaml:3:15: the task would never run: its schedule has no occurrence from 2030-02-01T00:00:00.000Z and up to \`endAt\` 2030-03-01T00:00:00.000Z`,
    ]);
  });

  it("reports a one-time `at` after its `endAt` as an error, not as stale", () => {
    const text =
      'tasks:\n  - name: job\n    at: "2030-06-01T00:00:00Z"\n    command: [date]\n    endAt: "2030-01-01T00:00:00Z"\n';
    const errors = errorsOf(text);
    assert.equal(errors.length, 1, errors.map(formatScheduleError).join("\n"));
    assert.match(errors[0]?.message ?? "", /would never run/);
  });

  it("keeps what time alone made stale, with a warning: a one-time `at` or an `endAt` already past", () => {
    const text = [
      "tasks:",
      "  - name: once",
      '    at: "2025-06-01T00:00:00Z"',
      "    command: [date]",
      "  - name: ended",
      '    schedule: "0 * * * *"',
      '    endAt: "2025-12-31T00:00:00Z"',
      "    command: [date]",
      "  - name: later",
      '    at: "2030-01-01T00:00:00Z"',
      "    command: [date]",
      "",
    ].join("\n");
    assert.deepEqual(warningsOf(text), [
      `${at(text, '"2025-06-01')}: warning: \`at\` 2025-06-01T00:00:00.000Z has passed: the task is kept as completed and will not run`,
      `${at(text, '"2025-12-31')}: warning: \`endAt\` 2025-12-31T00:00:00.000Z has passed: the task is kept as completed (ended) and will not run`,
    ]);
    const result = parseScheduleText(text, { file: "s.yaml", now: NOW });
    assert.deepEqual(result.ok ? result.schedule.tasks.map((t) => t.name) : [], [
      "once",
      "ended",
      "later",
    ]);
  });
});

describe("schedule file: ${NAME} references to unset variables (item 13)", () => {
  const text = [
    "tasks:",
    "  - name: backup",
    "    every: 5m",
    "    command: [pg_dump]",
    "    env:",
    '      PGPASSWORD: "${PGPASSWORD}"',
    '      LITERAL: "$${NOT_A_REFERENCE}"',
    "  - name: ping",
    "    every: 5m",
    "    http:",
    "      url: https://example.com",
    '      headers: { Authorization: "Bearer ${API_TOKEN}" }',
    "",
  ].join("\n");

  it("warns about each, at the reference", () => {
    assert.deepEqual(warningsOf(text, ["HOME"]), [
      `${at(text, "${PGPASSWORD}")}: warning: \`env.PGPASSWORD\` refers to \${PGPASSWORD}, which is not set: its runs will fail until it is`,
      `${at(text, "${API_TOKEN}")}: warning: \`http.headers.Authorization\` refers to \${API_TOKEN}, which is not set: its runs will fail until it is`,
    ]);
  });

  it("says nothing when they are set, or when no environment is given", () => {
    assert.deepEqual(warningsOf(text, ["PGPASSWORD", "API_TOKEN"]), []);
    assert.deepEqual(warningsOf(text), []);
  });
});

describe("schedule file: module tasks (item 13)", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "orchestrator-modules-"));
    await writeFile(join(dir, "jobs.mjs"), "export function run() {}\nexport const label = 'x';\n");
    await writeFile(join(dir, "only-named.mjs"), "export function run() {}\n");
    // Evaluating it throws an error that quotes its source.
    await writeFile(join(dir, "secret.js"), "topsecretvalue\n");
    await writeFile(
      join(dir, "side-effect.mjs"),
      `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(join(dir, "imported"))}, "yes");\nexport default function () {}\n`,
    );
    mkdirSync(join(dir, "folder.js"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const moduleTask = (name: string, module: string): string =>
    `  - name: ${name}\n    every: 5m\n    module: ${module}\n`;
  const load = (text: string): Promise<ScheduleLoadResult> =>
    writeFile(join(dir, "s.yaml"), text).then(() =>
      checkScheduleFile(join(dir, "s.yaml"), { now: NOW }),
    );

  it("refuses a path that is not a JS/TS module file, without reading it", async () => {
    const text = `tasks:\n${moduleTask("host", "{ path: /etc/hostname }")}${moduleTask("missing", "{ path: ./missing.mjs }")}${moduleTask("folder", "{ path: ./folder.js }")}`;
    const result = await load(text);
    const file = join(dir, "s.yaml");
    assert.deepEqual(messages(result), [
      `${file}:4:21: \`module.path\` must name a JavaScript or TypeScript module (.js .mjs .cjs .ts .mts .cts), got /etc/hostname`,
      `${file}:7:21: module not found: ${join(dir, "missing.mjs")}`,
      `${file}:10:21: \`module.path\` is not a file: ${join(dir, "folder.js")}`,
    ]);
    const content = (await readFile("/etc/hostname", "utf8").catch(() => hostname())).trim();
    if (content !== "") assert.ok(!messages(result).join("\n").includes(content));
  });

  it("imports each module and requires the named export to be a function", async () => {
    const text = `tasks:\n${moduleTask("ok", "{ path: ./jobs.mjs, export: run }")}${moduleTask("label", "{ path: ./jobs.mjs, export: label }")}${moduleTask("absent", "{ path: ./jobs.mjs, export: nope }")}${moduleTask("no-default", "{ path: ./only-named.mjs }")}`;
    const result = await load(text);
    const file = join(dir, "s.yaml");
    assert.deepEqual(messages(result), [
      `${file}:7:41: the module ${join(dir, "jobs.mjs")} exports no function "label" (that export is a string)`,
      `${file}:10:41: the module ${join(dir, "jobs.mjs")} exports no function "nope"`,
      `${file}:13:21: the module ${join(dir, "only-named.mjs")} exports no function "default"`,
    ]);
  });

  it("does not show the source of a module that throws when imported", async () => {
    const result = await load(`tasks:\n${moduleTask("secret", "{ path: ./secret.js }")}`);
    assert.deepEqual(messages(result), [
      `${join(dir, "s.yaml")}:4:21: cannot load the module ${join(dir, "secret.js")}: importing it throws a ReferenceError (run \`node ${join(dir, "secret.js")}\` to see it)`,
    ]);
  });

  it("imports no module of a file that has errors", async () => {
    const result = await load(
      `tasks:\n${moduleTask("side", "{ path: ./side-effect.mjs }")}${moduleTask("bad", "{ path: ./jobs.mjs }")}    overlap: never\n`,
    );
    assert.equal(messages(result).length, 1);
    assert.equal(existsSync(join(dir, "imported")), false);
    const valid = await load(`tasks:\n${moduleTask("side", "{ path: ./side-effect.mjs }")}`);
    assert.equal(valid.ok, true, messages(valid).join("\n"));
    assert.equal(existsSync(join(dir, "imported")), true);
  });
});
