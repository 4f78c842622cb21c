/**
 * Issue 15, obs. 14: the daemon survives a promise that rejects with nobody
 * awaiting it. Module handlers' own are reported by their worker thread
 * (test/core/dispatcher.test.ts); this is the daemon's main thread.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { containFloatingRejections } from "../../src/cli/floating-rejections.js";
import { recordingLogger } from "../helpers/scheduler.js";

describe("containFloatingRejections", () => {
  it("logs an unhandled rejection as an error while installed, and stops listening when released", () => {
    const source = new EventEmitter();
    const logger = recordingLogger();
    const release = containFloatingRejections(source, logger);
    assert.equal(source.listenerCount("unhandledRejection"), 1);
    const reason = new Error("nobody awaited me");
    source.emit("unhandledRejection", reason);
    assert.deepEqual(
      logger.entries.map((entry) => [entry.level, entry.msg, entry.obj.err]),
      [["error", "A promise rejected and nothing awaited it; the daemon goes on", reason]],
    );
    release();
    assert.equal(source.listenerCount("unhandledRejection"), 0);
  });
});
