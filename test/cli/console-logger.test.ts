/**
 * The daemon's logger (src/cli/console-logger.ts): JSON lines in pino's shape
 * (level, time, msg, then the fields), and readable lines.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createConsoleLogger } from "../../src/cli/console-logger.js";

function capture(format: "json" | "pretty"): {
  lines: string[];
  logger: ReturnType<typeof createConsoleLogger>;
} {
  const lines: string[] = [];
  const logger = createConsoleLogger({
    format,
    color: false,
    write: (line) => void lines.push(line),
    now: () => Date.UTC(2026, 11, 7, 12, 0, 1),
  });
  return { lines, logger };
}

describe("the daemon's console logger", () => {
  it("writes one JSON object per line: level, time, msg, then the fields in order", () => {
    const { lines, logger } = capture("json");
    logger.info(
      { task: "backup", durationMs: 12, quoted: 'a "b"\n', skipped: undefined },
      "run succeeded",
    );
    logger.warn({}, "no fields");
    assert.deepEqual(lines, [
      '{"level":30,"time":1796644801000,"msg":"run succeeded","task":"backup","durationMs":12,"quoted":"a \\"b\\"\\n"}\n',
      '{"level":40,"time":1796644801000,"msg":"no fields"}\n',
    ]);
  });

  it("serializes errors, lets a field named like a line key replace it, and drops fields it cannot write", () => {
    const { lines, logger } = capture("json");
    const error = Object.assign(new Error("disk full"), { code: "ENOSPC" });
    logger.error({ err: error }, "write failed");
    logger.info({ msg: "from the fields", n: 1 }, "from the message");
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    logger.info({ cycle }, "cyclic");
    logger.info({ big: 1n }, "bigint");
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(parsed[0]?.err, {
      type: "Error",
      message: "disk full",
      stack: error.stack,
      code: "ENOSPC",
    });
    assert.deepEqual(parsed[1], { level: 30, time: 1796644801000, msg: "from the fields", n: 1 });
    assert.deepEqual(parsed[2], { level: 30, time: 1796644801000, msg: "cyclic" });
    assert.deepEqual(parsed[3], { level: 30, time: 1796644801000, msg: "bigint" });
    assert.ok(lines.every((line) => line.endsWith("}\n") && !line.slice(0, -1).includes("\n")));
  });

  it("writes readable lines: time, level, message, fields", () => {
    const { lines, logger } = capture("pretty");
    logger.info({ task: "backup", note: "two words" }, "run succeeded");
    assert.deepEqual(lines, ['12:00:01 INFO  run succeeded  task=backup note="two words"\n']);
  });
});
