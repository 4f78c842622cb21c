import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Dispatcher, type BurstCall, type DispatchRequest } from "../../src/core/dispatcher.js";
import { RunContext } from "../../src/core/run-context.js";
import { ManualClock } from "../../src/time/clock.js";
import { InvalidArgumentError, TimeoutError } from "../../src/errors.js";

const workerEntry = new URL("../fixtures/ts-worker-boot.mjs", import.meta.url);
const handlers = new URL("../fixtures/handlers.mjs", import.meta.url);

function request(overrides: Partial<DispatchRequest> = {}): DispatchRequest {
  return {
    taskName: "t",
    scheduledAtMs: 0,
    attempt: 1,
    payload: undefined,
    fencingToken: 1,
    timeoutMs: 0,
    ...overrides,
  };
}

describe("Dispatcher, inline callbacks", () => {
  it("passes the context and resolves ok", async () => {
    const dispatcher = new Dispatcher();
    let seen: unknown;
    const outcome = await dispatcher.dispatch(
      { kind: "inline", fn: (ctx) => void (seen = ctx) },
      request({ taskName: "x", attempt: 2, payload: { a: 1 } }),
    );
    assert.deepEqual(outcome, { ok: true });
    const ctx = seen as {
      taskName: string;
      attempt: number;
      payload: unknown;
      signal: AbortSignal;
      scheduledAt: Date;
    };
    assert.equal(ctx.taskName, "x");
    assert.equal(ctx.attempt, 2);
    assert.deepEqual(ctx.payload, { a: 1 });
    assert.ok(ctx.signal instanceof AbortSignal);
    assert.equal(ctx.scheduledAt.getTime(), 0);
  });

  it("contains sync throws and rejections as outcomes", async () => {
    const dispatcher = new Dispatcher();
    const boom = new Error("boom");
    const sync = await dispatcher.dispatch(
      {
        kind: "inline",
        fn: () => {
          throw boom;
        },
      },
      request(),
    );
    assert.deepEqual(sync, { ok: false, error: boom, timedOut: false });
    const async = await dispatcher.dispatch(
      { kind: "inline", fn: () => Promise.reject(boom) },
      request(),
    );
    assert.deepEqual(async, { ok: false, error: boom, timedOut: false });
  });

  it("times out: the outcome says so and ctx.signal aborts with a TimeoutError", async () => {
    const dispatcher = new Dispatcher();
    let reason: unknown;
    const outcome = await dispatcher.dispatch(
      {
        kind: "inline",
        fn: ({ signal }) =>
          new Promise<void>((resolve) =>
            signal.addEventListener("abort", () => {
              reason = signal.reason;
              resolve();
            }),
          ),
      },
      request({ timeoutMs: 20 }),
    );
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok && outcome.timedOut && outcome.error instanceof TimeoutError);
    assert.ok(reason instanceof TimeoutError);
  });

  it("with timeoutGraceMs, records the callback's error caused by the timeout (what it carries is kept)", async () => {
    // Issue 13, item 15: a killed command's error carries its output; the timeout used to replace it.
    const dispatcher = new Dispatcher({ timeoutGraceMs: 30_000 });
    const outcome = await dispatcher.dispatch(
      {
        kind: "inline",
        fn: ({ signal }) =>
          new Promise<void>((_, reject) =>
            signal.addEventListener("abort", () => {
              const error = new Error("killed", { cause: signal.reason });
              // Stops a moment later, as a killed process does.
              setImmediate(() => reject(Object.assign(error, { details: { stdout: "begin" } })));
            }),
          ),
      },
      request({ timeoutMs: 20 }),
    );
    assert.ok(!outcome.ok && outcome.timedOut, JSON.stringify(outcome));
    assert.ok(outcome.error instanceof Error && outcome.error.message === "killed");
    assert.ok(outcome.error.cause instanceof TimeoutError);
    assert.deepEqual((outcome.error as { details?: unknown }).details, { stdout: "begin" });
  });

  it("with timeoutGraceMs, keeps the TimeoutError for an unrelated error, a late success, or no answer", async () => {
    const dispatcher = new Dispatcher({ timeoutGraceMs: 50 });
    const stopsWith =
      (settle: (signal: AbortSignal) => Promise<void>) =>
      ({ signal }: { signal: AbortSignal }) =>
        new Promise<void>((resolve, reject) =>
          signal.addEventListener("abort", () => void settle(signal).then(resolve, reject)),
        );
    const outcomes = await Promise.all([
      dispatcher.dispatch(
        { kind: "inline", fn: stopsWith(() => Promise.reject(new Error("unrelated"))) },
        request({ timeoutMs: 20 }),
      ),
      dispatcher.dispatch(
        { kind: "inline", fn: stopsWith(() => Promise.resolve()) },
        request({ timeoutMs: 20 }),
      ),
      dispatcher.dispatch(
        { kind: "inline", fn: stopsWith(() => new Promise<void>(() => {})) },
        request({ timeoutMs: 20 }),
      ),
    ]);
    for (const outcome of outcomes) {
      assert.ok(!outcome.ok && outcome.timedOut && outcome.error instanceof TimeoutError);
    }
  });

  it("does not time out at once with a timeout beyond Node's timer limit (a task stored before the limit)", async () => {
    const dispatcher = new Dispatcher();
    // Node fires a setTimeout of more than 2^31-1 ms after 1 ms: this run, a few timer turns long, was killed.
    const outcome = await dispatcher.dispatch(
      { kind: "inline", fn: () => new Promise<void>((resolve) => setTimeout(resolve, 30)) },
      request({ timeoutMs: 2 ** 31 }),
    );
    assert.deepEqual(outcome, { ok: true });
  });

  it("never runs more than `concurrency` callbacks at once, across tasks", async () => {
    const dispatcher = new Dispatcher({ concurrency: 3 });
    let active = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const runs = Array.from({ length: 10 }, (_, i) =>
      dispatcher.dispatch(
        {
          kind: "inline",
          fn: () => {
            active++;
            peak = Math.max(peak, active);
            return new Promise<void>((resolve) =>
              releases.push(() => {
                active--;
                resolve();
              }),
            );
          },
        },
        request({ taskName: `t${i}` }),
      ),
    );
    // Release runs one by one as they start; the limit must hold throughout.
    let released = 0;
    while (released < 10) {
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(dispatcher.active <= 3);
      const next = releases.shift();
      if (next !== undefined) {
        next();
        released++;
      }
    }
    await Promise.all(runs);
    assert.equal(peak, 3);
  });

  it("validates its options", () => {
    assert.throws(() => new Dispatcher({ concurrency: 0 }), InvalidArgumentError);
    assert.throws(() => new Dispatcher({ maxThreads: -1 }), /options\.maxThreads/);
    assert.throws(() => new Dispatcher({ timeoutGraceMs: -1 }), /options\.timeoutGraceMs/);
  });

  it("refuses runs after close", async () => {
    const dispatcher = new Dispatcher();
    await dispatcher.close();
    const outcome = await dispatcher.dispatch({ kind: "inline", fn: () => {} }, request());
    assert.equal(outcome.ok, false);
    assert.equal((dispatcher.runInline(() => {}, request()) as { ok: boolean }).ok, false);
  });

  it("runInline: a synchronous callback's outcome comes back at once, without a promise", () => {
    const dispatcher = new Dispatcher();
    let calls = 0;
    assert.deepEqual(
      dispatcher.runInline(() => void calls++, request()),
      { ok: true },
    );
    assert.deepEqual(
      dispatcher.runInline(() => 42, request()),
      { ok: true, value: 42 },
    );
    const failed = dispatcher.runInline(() => {
      throw new Error("boom");
    }, request());
    assert.equal((failed as { ok: boolean }).ok, false);
    assert.equal(calls, 1);
    assert.equal(dispatcher.active, 0);
  });

  it("runInline: a timeout or a concurrency limit takes the general path", async () => {
    const timed = new Dispatcher();
    const pending = timed.runInline(
      (ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", resolve)),
      request({ timeoutMs: 20 }),
    );
    assert.ok(pending instanceof Promise);
    const outcome = await pending;
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok && outcome.timedOut);
    const limited = new Dispatcher({ concurrency: 1 });
    let release = (): void => {};
    const first = limited.runInline(() => new Promise<void>((r) => (release = r)), request());
    let secondStarted = false;
    const second = limited.runInline(() => void (secondStarted = true), request());
    assert.equal(secondStarted, false, "waits for the slot");
    assert.equal(limited.pending, 1);
    release();
    assert.deepEqual(await first, { ok: true });
    assert.deepEqual(await second, { ok: true });
    assert.equal(secondStarted, true);
  });
});

describe("Dispatcher, bursts", () => {
  /** A burst call: with a context (so the burst calls it) unless `general`. */
  function call(callback: unknown, general = false): BurstCall {
    const base = request({ taskName: "b" });
    return {
      ...base,
      callback,
      context: general ? undefined : new RunContext(base),
      startMono: Number.NaN,
      result: undefined,
      threw: false,
    };
  }

  it("calls each run with a context, back to back, keeping results for settleBurst", async () => {
    const dispatcher = new Dispatcher();
    const clock = new ManualClock(1_000);
    const order: string[] = [];
    const caller = { calling: undefined as object | undefined };
    let callingSeen: object | undefined;
    const runs = [
      call(() => {
        callingSeen = caller.calling;
        order.push("sync");
      }),
      call(() => {
        order.push("throws");
        throw new Error("boom");
      }),
      call(() => order.push("general"), true),
      call(() => {
        order.push("async");
        return Promise.resolve(7);
      }),
      call(() => {
        order.push("rejects");
        return Promise.reject(new Error("later"));
      }),
    ];
    assert.equal(dispatcher.callBurst(runs, clock, caller), true);
    assert.deepEqual(
      order,
      ["sync", "throws", "async", "rejects"],
      "the general run is not called",
    );
    assert.equal(callingSeen, runs[0], "caller.calling is the run being called");
    assert.equal(caller.calling, undefined);
    assert.ok(Number.isNaN(runs[2]!.startMono));
    assert.equal(dispatcher.active, 4);
    assert.deepEqual(dispatcher.settleBurst(runs[0]!), { ok: true });
    const thrown = dispatcher.settleBurst(runs[1]!);
    assert.ok(
      !(thrown instanceof Promise) && !thrown.ok && (thrown.error as Error).message === "boom",
    );
    const resolved = dispatcher.settleBurst(runs[3]!);
    const rejected = dispatcher.settleBurst(runs[4]!);
    assert.ok(resolved instanceof Promise && rejected instanceof Promise);
    assert.deepEqual(await resolved, { ok: true, value: 7 });
    const failure = await rejected;
    assert.ok(!failure.ok && (failure.error as Error).message === "later" && !failure.timedOut);
    assert.equal(dispatcher.active, 0);
  });

  it("reads the monotonic clock again only when the wall clock's millisecond changed", () => {
    const dispatcher = new Dispatcher();
    const clock = new ManualClock(1_000);
    let monotonicReads = 0;
    const counting = {
      nowMs: () => clock.nowMs(),
      monotonicMs: () => {
        monotonicReads++;
        return clock.monotonicMs();
      },
    };
    const runs = [
      call(() => {}),
      call(() => void clock.advance(5)),
      call(() => {}),
      call(() => {}),
    ];
    dispatcher.callBurst(runs, counting, { calling: undefined });
    const start = runs[0]!.startMono;
    assert.deepEqual(
      runs.map((run) => run.startMono - start),
      [0, 0, 5, 5],
      "each start is the reading of its millisecond",
    );
    assert.equal(monotonicReads, 2);
  });

  it("calls nothing when closed or when concurrency is limited (the general path applies)", async () => {
    const limited = new Dispatcher({ concurrency: 2 });
    let calls = 0;
    const clock = new ManualClock(0);
    assert.equal(limited.callBurst([call(() => calls++)], clock, { calling: undefined }), false);
    const closed = new Dispatcher();
    await closed.close();
    assert.equal(closed.callBurst([call(() => calls++)], clock, { calling: undefined }), false);
    assert.equal(calls, 0);
  });
});

describe("Dispatcher, module handlers in worker threads", () => {
  const dispatcher = new Dispatcher({ workerEntry, maxThreads: 2 });
  after(() => dispatcher.close());

  it("runs a named export in a worker thread", async () => {
    assert.deepEqual(
      await dispatcher.dispatch({ kind: "module", module: handlers, exportName: "ok" }, request()),
      { ok: true },
    );
    assert.deepEqual(
      await dispatcher.dispatch(
        { kind: "module", module: handlers.href, exportName: "default" },
        request(),
      ),
      {
        ok: true,
      },
    );
  });

  it("contains a handler's error and a missing export", async () => {
    const failed = await dispatcher.dispatch(
      { kind: "module", module: handlers, exportName: "echo" },
      request({ taskName: "w", payload: { fail: true } }),
    );
    assert.ok(!failed.ok);
    assert.match(String((failed.error as Error).message), /failed on purpose: w/);
    const missing = await dispatcher.dispatch(
      { kind: "module", module: handlers, exportName: "nope" },
      request(),
    );
    assert.ok(!missing.ok);
    assert.match(String((missing.error as Error).message), /no exported function "nope"/);
  });

  it("a floating rejection in a handler's thread is written to stderr with its task's name; the next run is not failed by it (issue 15, obs. 14)", async () => {
    const single = new Dispatcher({ workerEntry, maxThreads: 1 });
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk: string | Uint8Array, ...rest: never[]) => {
      const text = String(chunk);
      if (text.includes("nothing awaited it")) {
        written.push(text);
        return true;
      }
      return write(chunk, ...rest);
    };
    try {
      const first = await single.dispatch(
        { kind: "module", module: handlers, exportName: "floating" },
        request({ taskName: "leaky" }),
      );
      assert.equal(first.ok, true);
      while (written.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.match(written[0] ?? "", /of task "leaky"; the thread goes on/);
      assert.match(written[0] ?? "", /floating rejection of leaky/);
      // The same (only) thread runs the next task: it lived on, and the rejection is not this run's.
      const next = await single.dispatch(
        { kind: "module", module: handlers, exportName: "whereAmI" },
        request({ taskName: "other" }),
      );
      assert.equal(next.ok, true);
    } finally {
      process.stderr.write = write;
      await single.close();
    }
  });

  it(
    "really aborts a run that exceeds timeoutMs (the thread is terminated) and keeps working",
    { timeout: 120_000 },
    async () => {
      // One thread only: if the spinning run were not stopped, the next run could never start.
      const single = new Dispatcher({ workerEntry, maxThreads: 1 });
      try {
        const outcome = await single.dispatch(
          { kind: "module", module: handlers, exportName: "spin" },
          request({ timeoutMs: 200 }),
        );
        assert.ok(!outcome.ok && outcome.timedOut && outcome.error instanceof TimeoutError);
        const next = await single.dispatch(
          { kind: "module", module: handlers, exportName: "ok" },
          request(),
        );
        assert.deepEqual(next, { ok: true });
      } finally {
        await single.close();
      }
    },
  );
});
