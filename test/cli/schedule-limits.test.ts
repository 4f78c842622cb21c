import assert from "node:assert/strict";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { formatScheduleError, loadScheduleFile } from "../../src/cli/schedule-file.js";
import { errorsOf, NOW, positionOf, specOf } from "./helpers.js";

// Issue 13, items 11 and 12: numbers out of range, and files built to
// exhaust memory or the stack, are refused with a clear message at a position.

const task = (body: string): string =>
  `tasks:\n  - name: job\n    every: 5m\n    command: [date]\n${body}`;

/** The single error of `text`, at the position of `needle`. */
function oneError(text: string, needle: string, message: RegExp, file?: string): void {
  const errors = errorsOf(text, file);
  assert.equal(errors.length, 1, errors.map(formatScheduleError).join("\n"));
  const at = positionOf(text, needle);
  assert.deepEqual([errors[0]?.line, errors[0]?.column], [at.line, at.column], errors[0]?.message);
  assert.match(errors[0]?.message ?? "", message);
}

describe("schedule file: every duration is bounded (item 11)", () => {
  it("refuses a timeout beyond Node's timer limit (runs were killed after 20–80 ms)", () => {
    oneError(
      task("    timeoutMs: 2147483648\n"),
      "2147483648",
      /^`timeoutMs` must be a whole number of milliseconds from 1 to 2147483647 ms \(about 24\.9 days\), got 2147483648 \(number\)$/,
    );
    specOf(task("    timeoutMs: 2147483647\n"));
  });

  it("refuses an HTTP timeout of 2^53-1 (every run failed)", () => {
    oneError(
      "tasks:\n  - name: job\n    every: 5m\n    http: { url: http://x, timeoutMs: 9007199254740991 }\n",
      "9007199254740991",
      /^`http\.timeoutMs` must be a whole number of milliseconds from 1 to 2147483647 ms/,
    );
  });

  it("refuses a backoff of 2^53-1 (a task was stuck as overlapping for ever)", () => {
    oneError(
      task("    retries: { attempts: 2, backoffMs: 9007199254740991 }\n"),
      "9007199254740991",
      /^`retries\.backoffMs` must be a whole number of milliseconds from 0 to 2592000000 ms \(30 days\)/,
    );
    oneError(
      task("    retries: { attempts: 2, maxBackoffMs: 2592000001 }\n"),
      "2592000001",
      /^`retries\.maxBackoffMs` must be .* to 2592000000 ms \(30 days\), not below backoffMs/,
    );
  });

  it("refuses maxBackoffMs below backoffMs, at maxBackoffMs", () => {
    oneError(
      task("    retries: { attempts: 2, backoffMs: 60000, maxBackoffMs: 1000 }\n"),
      "1000 }",
      /^`retries\.maxBackoffMs` must be a duration not below backoffMs \(60000 ms\), got 1000 \(number\)$/,
    );
  });

  it("refuses `every` under 1 s (1 ms flooded the log with missed runs) or over 366 days", () => {
    const every = (value: string): string =>
      `tasks:\n  - name: job\n    every: ${value}\n    command: [date]\n`;
    oneError(
      every("1"),
      "1\n",
      /^`every` must be from 1000 ms \(1 second\) to 31622400000 ms \(366 days\), got 1 \(1 ms\)$/,
    );
    oneError(every("500ms"), "500ms", /got "500ms" \(500 ms\)$/);
    oneError(every("367d"), "367d", /to 31622400000 ms \(366 days\), got "367d"/);
    specOf(every("1s"));
    specOf(every("366d"));
  });

  it("refuses a misfire grace or a jitter over 30 days", () => {
    oneError(
      task("    misfireGraceMs: 2592000001\n"),
      "2592000001",
      /^`misfireGraceMs` must be a whole number of milliseconds from 0 to 2592000000 ms \(30 days\)/,
    );
    oneError(
      task("    jitterMs: 2592000001\n"),
      "2592000001",
      /^`jitterMs` must be a whole number of milliseconds from 0 to 2592000000 ms/,
    );
  });
});

describe("schedule file: size, depth and aliases (item 12)", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "orchestrator-limits-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("refuses a file over the size limit from its size, before reading it", async () => {
    const file = join(dir, "huge.yaml");
    await writeFile(file, "tasks: []\n");
    // 50 MB, sparse: reading it whole would take that much memory.
    await truncate(file, 50 * 1024 * 1024);
    const result = await loadScheduleFile(file, { now: NOW });
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? [] : result.errors.map(formatScheduleError), [
      `${file}:1:1: the schedule file is 52428800 bytes, more than the 10485760 bytes allowed (10 MiB): split it, or move large payloads out of it`,
    ]);
  });

  it("takes a smaller limit, and accepts a file at the limit", async () => {
    const file = join(dir, "small.yaml");
    const text = "tasks:\n  - name: a\n    every: 5m\n    command: [date]\n";
    await writeFile(file, text);
    const at = await loadScheduleFile(file, { now: NOW, maxBytes: Buffer.byteLength(text) });
    assert.equal(at.ok, true);
    const over = await loadScheduleFile(file, { now: NOW, maxBytes: Buffer.byteLength(text) - 1 });
    assert.match(
      over.ok ? "" : (over.errors[0]?.message ?? ""),
      /^the schedule file is 53 bytes, more than the 52 bytes allowed: split it/,
    );
  });

  it("refuses a YAML alias bomb at its first alias", () => {
    let text = 'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]\n';
    let previous = "a";
    for (let i = 0; i < 9; i++) {
      const name = `b${i}`;
      text += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(", ")}]\n`;
      previous = name;
    }
    text += "tasks: []\n";
    oneError(
      text,
      "*a",
      /^invalid YAML: the aliases \(\*name\) expand to too many nodes \(more than 100 expansions are refused/,
    );
  });

  it("accepts a few aliases, as used to share a block", () => {
    const shared = specOf(
      "tasks:\n  - name: a\n    every: 5m\n    command: [date]\n    env: &env { A: a }\n  - name: b\n    every: 5m\n    command: [date]\n    env: *env\n",
    );
    assert.deepEqual(
      shared.tasks.map((t) => (t.action.kind === "command" ? t.action.env : undefined)),
      [{ A: "a" }, { A: "a" }],
    );
  });

  it("refuses JSON nested 2,000 deep, at the first value too deep", () => {
    const text = `{"tasks": [{"name": "a", "every": "5m", "command": ["date"], "payload": ${"[".repeat(2000)}${"]".repeat(2000)}}]}`;
    const errors = errorsOf(text, "schedule.json");
    assert.equal(errors.length, 1, errors.map(formatScheduleError).join("\n"));
    assert.equal(errors[0]?.line, 1);
    assert.ok((errors[0]?.column ?? 0) > text.indexOf('"payload"'), String(errors[0]?.column));
    assert.match(
      errors[0]?.message ?? "",
      /^nested too deeply: at most 64 levels of lists and mappings are allowed$/,
    );
  });

  it("refuses YAML nested too deep to parse, and YAML nested past 64 levels, at a position", () => {
    const deep = errorsOf(`tasks: []\nx: ${"[".repeat(2000)}${"]".repeat(2000)}\n`);
    assert.equal(deep.length, 1);
    assert.equal(deep[0]?.line, 2);
    assert.match(
      deep[0]?.message ?? "",
      /^invalid YAML: nested too deeply to parse \(at most 64 levels/,
    );

    // Level 1 is the document, 2 the task list, 3 the task, 4 the payload: 61 of them are allowed.
    const payload = (levels: number): string =>
      `tasks:\n  - name: a\n    every: 5m\n    command: [date]\n    payload: ${"[".repeat(levels)}${"]".repeat(levels)}\n`;
    specOf(payload(61));
    const errors = errorsOf(payload(62));
    assert.equal(errors.length, 1);
    const at = positionOf(payload(62), "payload: [");
    assert.equal(errors[0]?.line, at.line);
    assert.equal(errors[0]?.column, at.column + "payload: ".length + 61);
    assert.match(errors[0]?.message ?? "", /^nested too deeply/);
  });
});
