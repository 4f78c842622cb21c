/**
 * A Scheduler on PostgreSQL that loses the lease of a run in flight aborts
 * the callback's signal, emits `lease:lost`, and records nothing for it: the
 * reaper (here its own maintenance, as any node's) records the run
 * `interrupted` and retries it. And the clock-skew check against the
 * database clock warns (`clock:skew`) only beyond `maxClockSkewMs`.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import type { ClockSkewEvent, LeaseLostEvent } from "../../src/events.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { ManualClock } from "../../src/time/clock.js";
import { recordingLogger } from "../helpers/scheduler.js";
import { requirePg, waitFor, withTestSchema } from "../helpers/pg.js";

const KEY = randomBytes(32);
/** Waits generous enough for a machine at a load of 30: they bound a hang, they do not measure speed. */
const PATIENT = { timeoutMs: 60_000, intervalMs: 20 };

if (await requirePg("cluster lease-loss and clock-skew tests")) {
  describe("cluster: lease loss and clock skew", () => {
    const db = withTestSchema("orch_lease");
    const closers: (() => Promise<void>)[] = [];
    after(async () => {
      for (const close of closers.reverse()) await close();
    });

    function scheduler(options: {
      leaseMs?: number;
      clock?: ManualClock;
      maxClockSkewMs?: number;
    }) {
      const store = new PostgresStore({ connectionString: db.connectionString, schema: db.name });
      const dispatcher = new Dispatcher();
      const logger = recordingLogger();
      const instance = new Scheduler(dispatcher, {
        store,
        nodeId: `node-${closers.length}`,
        encryptionKey: KEY,
        logger,
        timezone: "UTC",
        ...options,
      });
      closers.push(async () => {
        await instance.stop();
        await store.close();
        await dispatcher.close();
      });
      return { scheduler: instance, store, logger };
    }

    it("aborts a run whose lease is lost, records no outcome for it, and the reaper retries it", async () => {
      // A lease long enough that a loaded machine renews it and starts the attempt
      // (never with less than a quarter of it left): only the test takes it away.
      const { scheduler: node } = scheduler({ leaseMs: 3_000 });
      const aborts: unknown[] = [];
      let attempts = 0;
      node.defineHandler("hold", async (ctx) => {
        attempts++;
        if (ctx.attempt > 1) return; // the retry after the interruption completes at once
        await new Promise<void>((resolve) => {
          ctx.signal.addEventListener("abort", () => {
            aborts.push(ctx.signal.reason);
            resolve();
          });
        });
      });
      const lost: LeaseLostEvent[] = [];
      node.on("lease:lost", (event) => lost.push(event));
      await node.registerTask("held", "0 0 1 1 *", "hold", {
        retries: { attempts: 1, backoffMs: 0 },
      });
      await node.start();
      const triggered = node.triggerTask("held");
      // The callback runs only under its claim: from its start the claim is held.
      await waitFor("the run's first attempt to start", () => attempts === 1, PATIENT);
      // Another node took the lease (as after a stall past its expiry): renewals are refused from now on.
      await db.admin.query(
        `update "${db.name}".claims set lease_expires_at = clock_timestamp() - interval '1 second'
         where task_name = 'held' and released_at is null`,
      );
      await waitFor("lease:lost", () => lost.length === 1, PATIENT);
      await triggered;
      assert.equal(lost[0]?.taskName, "held");
      assert.equal(lost[0]?.inFlight, true);
      assert.equal(aborts.length, 1, "the callback's signal was aborted");
      const history = await waitFor(
        "the reaper to record the interruption and retry",
        async () => {
          const rows = await node.history("held");
          return rows.some((row) => row.status === "succeeded") ? rows : undefined;
        },
        PATIENT,
      );
      const statuses = history.map((row) => `${row.status}#${row.attempt}`).sort();
      // The late result of the node that lost the lease is recorded for what it is: lost.
      assert.deepEqual(statuses, ["interrupted#1", "lost#1", "succeeded#2"]);
      assert.equal(attempts, 2);
    });

    it("measures the skew against the database clock and warns only beyond maxClockSkewMs", async () => {
      const { scheduler: inTime } = scheduler({});
      const warnings: ClockSkewEvent[] = [];
      inTime.on("clock:skew", (event) => warnings.push(event));
      await inTime.start();
      const measured = await inTime.measureClockSkew();
      assert.ok(measured !== undefined);
      assert.ok(Math.abs(measured.skewMs) < 1_000, `skew ${measured.skewMs} ms on one machine`);
      assert.deepEqual(inTime.clockSkew, measured);
      assert.equal(warnings.length, 0);

      const clock = new ManualClock(Date.now() - 3_600_000); // an hour behind the database
      const { scheduler: late, logger } = scheduler({ clock, maxClockSkewMs: 1_000 });
      const events: ClockSkewEvent[] = [];
      late.on("clock:skew", (event) => events.push(event));
      await late.start();
      await waitFor("clock:skew", () => events.length > 0);
      assert.ok((events[0]?.skewMs ?? 0) > 3_500_000);
      assert.equal(events[0]?.thresholdMs, 1_000);
      assert.ok(
        logger.entries.some(
          (entry) => entry.level === "warn" && /behind the store's clock/.test(entry.msg ?? ""),
        ),
      );
    });
  });
}
