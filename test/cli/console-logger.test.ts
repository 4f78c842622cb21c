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

  describe("deferred (the daemon)", () => {
    function deferred(write: (text: string) => void = () => {}): {
      writes: string[];
      logger: ReturnType<typeof createConsoleLogger>;
      clock: { ms: number };
    } {
      const writes: string[] = [];
      const clock = { ms: Date.UTC(2026, 11, 7, 12, 0, 1) };
      const logger = createConsoleLogger({
        format: "json",
        color: false,
        write: (text) => {
          write(text);
          writes.push(text);
        },
        now: () => clock.ms,
        deferred: true,
      });
      return { writes, logger, clock };
    }
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

    it("writes a turn's lines after it, in order, each with the time it was logged at", async () => {
      const { writes, logger, clock } = deferred();
      logger.info({ task: "a" }, "run started");
      clock.ms += 1000;
      logger.warn({ task: "a", error: "boom" }, "run failed");
      logger.error({ err: new Error("disk full") }, "write failed");
      assert.deepEqual(writes, []);
      await turn();
      assert.equal(writes.length, 1);
      const lines = (writes[0] ?? "").split("\n");
      assert.equal(lines.pop(), "");
      const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.deepEqual(
        parsed.map((p) => [p.level, p.time, p.msg]),
        [
          [30, 1796644801000, "run started"],
          [40, 1796644802000, "run failed"],
          [50, 1796644802000, "write failed"],
        ],
      );
      assert.equal((parsed[2]?.err as { message?: string }).message, "disk full");
      logger.info({}, "next turn");
      await turn();
      assert.equal(writes.length, 2);
      assert.match(writes[1] ?? "", /"msg":"next turn"/);
    });

    it("writes what waits at once on flush, a thousand lines a write, and nothing twice", async () => {
      const { writes, logger } = deferred();
      for (let i = 0; i < 2500; i++) logger.info({ i }, "line");
      logger.flush();
      assert.deepEqual(
        writes.map((text) => text.split("\n").length - 1),
        [1000, 1000, 500],
      );
      const numbers = writes
        .join("")
        .trimEnd()
        .split("\n")
        .map((line) => (JSON.parse(line) as { i: number }).i);
      assert.deepEqual(
        numbers,
        Array.from({ length: 2500 }, (_, i) => i),
      );
      await turn();
      logger.flush();
      assert.equal(writes.length, 3);
    });

    it("writes what waits once 8,192 lines do, as soon as the running code returns, not after the turn", async () => {
      const { writes, logger } = deferred();
      for (let i = 0; i < 8192; i++) logger.info({ i }, "line");
      assert.equal(writes.length, 0, "not in the middle of the running code");
      await Promise.resolve();
      assert.equal(writes.join("").split("\n").length - 1, 8192);
      logger.info({}, "after");
      await Promise.resolve();
      assert.equal(writes.join("").split("\n").length - 1, 8192, "fewer wait for the turn's end");
      await turn();
      assert.match(writes.at(-1) ?? "", /"msg":"after"/);
    });

    it("never throws when the output does: those lines are lost, later ones are written", async () => {
      let broken = true;
      const { writes, logger } = deferred(() => {
        if (broken) throw new Error("EPIPE");
      });
      logger.info({}, "lost");
      await turn();
      broken = false;
      logger.info({}, "kept");
      logger.flush();
      assert.equal(writes.length, 1);
      assert.match(writes[0] ?? "", /"msg":"kept"/);
    });
  });
});
