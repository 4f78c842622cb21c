/**
 * Claiming ahead (src/leasing/ahead-claimer.ts, LeasedStore.claimAhead): runs of a shared
 * store are claimed shortly before their time, start no earlier than it, and
 * claims nobody used are given back with their keys unspent.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { Task } from "../../src/core/task.js";
import { LeasedStore } from "../../src/leasing/leased-store.js";
import { PLAN_AHEAD_MIN_RUNS } from "../../src/engine/ahead-planner.js";
import { CronCache, compileSchedule } from "../../src/core/schedule.js";
import { resolveTaskOptions } from "../../src/core/task-options.js";
import {
  AheadClaimer,
  MAX_RELOOKS,
  type AheadClaimerHost,
} from "../../src/leasing/ahead-claimer.js";
import { engineOver } from "../helpers/run-engine.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { claimOrNull, type ClaimRequest, type Store } from "../../src/store/store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { ManualClock, SystemClock, type Clock } from "../../src/time/clock.js";
import type { TimerFunctions } from "../../src/time/timer-loop.js";
import Database from "better-sqlite3";
import { tempDb } from "../helpers/durable.js";
import { waitFor } from "../helpers/pg.js";

/** A SQLite store in a fresh file, opened on `clock`, and what closes it and removes the file. */
async function openSqlite(
  clock: Clock,
): Promise<{ store: SqliteStore; close: () => Promise<void> }> {
  const db = await tempDb();
  const store = new SqliteStore({ path: db.path });
  await store.open({ nodeId: "n", clock });
  return {
    store,
    close: async () => {
      await store.close();
      await db.cleanup();
    },
  };
}

/**
 * A Scheduler on a SQLite store in a fresh file, on the real clock (so it
 * claims ahead), and what stops it, closes the store and removes the file.
 */
async function sqliteScheduler() {
  const db = await tempDb();
  const store = new SqliteStore({ path: db.path });
  const dispatcher = new Dispatcher();
  const clock = new SystemClock();
  const scheduler = new Scheduler(dispatcher, { store, testMode: true, clock });
  const close = async (): Promise<void> => {
    await scheduler.stop();
    await store.close();
    await dispatcher.close();
    await db.cleanup();
  };
  return { db, clock, scheduler, close };
}

/**
 * Timer functions that fire only when the test says: `fire()` moves `clock`
 * to the one pending timer's time, runs it, and waits (event-loop turns, no
 * time) until the aheadClaimer's round is over and it has set its next timer.
 */
function manualTimers(clock: ManualClock): {
  functions: TimerFunctions;
  fire(): Promise<void>;
  pending(): boolean;
} {
  let timer: { callback: () => void; delayMs: number } | undefined;
  return {
    functions: {
      setTimeout: (callback, delayMs) => {
        assert.equal(timer, undefined, "one timer at a time");
        timer = { callback, delayMs };
        return timer;
      },
      clearTimeout: (handle) => {
        if (handle === timer) timer = undefined;
      },
    },
    async fire() {
      const due = timer ?? assert.fail("no timer is set");
      timer = undefined;
      clock.advance(Math.ceil(due.delayMs)); // a ManualClock moves by whole ms
      due.callback();
      for (let turn = 0; timer === undefined; turn++) {
        assert.ok(turn < 1_000, "the round set no next timer");
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    pending: () => timer !== undefined,
  };
}

function leased(store: Store): LeasedStore {
  return new LeasedStore(store, {
    leaseMs: 60_000,
    exclusive: () => true,
    onLeaseLost: () => {},
    onRenewError: () => {},
  });
}

/**
 * A SQLite store claimed ahead over fake timers, an instant `inMs` away, its
 * tasks (`task`), and AheadClaimers over them with the test's `dueBy`.
 */
async function claimerRig(inMs: number) {
  const clock = new ManualClock("2030-01-01T00:00:00Z");
  const { store, close } = await openSqlite(clock);
  const ahead = leased(store);
  const timers = manualTimers(clock);
  const dueMs = clock.nowMs() + inMs;
  const task = (name: string) => ({
    name,
    nextRunMs: dueMs,
    options: { maxRuns: Number.POSITIVE_INFINITY },
  });
  const claimer = (dueBy: AheadClaimerHost["dueBy"]) =>
    new AheadClaimer({
      store: ahead,
      clock,
      nodeId: "n",
      leaseMs: 60_000,
      nextDueMs: () => dueMs,
      dueBy,
      emit: () => {},
      timers: timers.functions,
    });
  return { clock, ahead, timers, dueMs, task, claimer, close };
}

/** Node "n"'s claim request of `taskName`'s run at `scheduledAt`. */
function requestOf(taskName: string, scheduledAt: number): ClaimRequest {
  return { taskName, scheduledAt, nodeId: "n", leaseMs: 60_000 };
}

describe("claiming ahead", () => {
  it("answers claims from what was claimed ahead, and gives unused ones back unspent", async () => {
    const clock = new ManualClock("2030-01-01T00:00:00Z");
    const { store, close } = await openSqlite(clock);
    let storeCalls = 0;
    const counting = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key === "claimRuns" && typeof value === "function") {
          return (...args: unknown[]) => {
            storeCalls++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof value === "function" ? (value as () => unknown).bind(target) : value;
      },
    });
    const ahead = leased(counting);
    try {
      const at = clock.nowMs() + 100;
      const request = (taskName: string) => requestOf(taskName, at);
      assert.equal(await ahead.claimAhead([request("a"), request("b")]), 2);
      assert.equal(storeCalls, 1);
      const [claim] = await ahead.claimRuns([request("a")]);
      assert.ok(claim !== null && claim !== undefined);
      assert.equal(storeCalls, 1, "answered from memory");
      // "b" was never asked for: given back, and its key can still be claimed.
      assert.equal(await ahead.giveBackUnused(Number.POSITIVE_INFINITY), 1);
      assert.notEqual(await store.claimRun(request("b")), null);
      // "a" was used: its key is taken.
      assert.equal(await store.claimRun(request("a")), null);
    } finally {
      ahead.stopRenewing();
      await close();
    }
  });

  it("gives back a claim that comes back overlapping: the run is claimed when due, once the run before it is released", async () => {
    const clock = new ManualClock("2030-01-01T00:00:00Z");
    const { store, close } = await openSqlite(clock);
    const ahead = leased(store);
    try {
      const request = (scheduledAt: number): ClaimRequest => ({
        taskName: "tick",
        scheduledAt,
        nodeId: "n",
        leaseMs: 60_000,
      });
      const now = clock.nowMs();
      // The run due now holds the task (exclusive) while the next one is claimed ahead:
      // it ends before the next falls due, but its release is still on its way.
      const running = claimOrNull((await ahead.claimRuns([request(now)]))[0]);
      assert.ok(running !== null && running.overlapping !== true);
      assert.equal(await ahead.claimAhead([request(now + 1_000)]), 0, "not held ahead");
      await ahead.releaseClaim(running);
      clock.advance(1_000);
      // Claimed when due, holding the task; kept ahead, it came back overlapping and was skipped.
      const next = claimOrNull((await ahead.claimRuns([request(now + 1_000)]))[0]);
      assert.ok(next !== null, "the key was given back unspent");
      assert.notEqual(next.overlapping, true);
    } finally {
      ahead.stopRenewing();
      await close();
    }
  });

  it("looks at an approaching instant's tasks once, however often it polls", async () => {
    const { clock, ahead, timers, dueMs, task, claimer, close } = await claimerRig(400);
    const tasks = Array.from({ length: 100 }, (_, i) => task(`t${i}`));
    let rounds = 0;
    let walked = 0;
    const aheadClaimer = claimer((untilMs, _limit, afterMs) => {
      rounds++;
      const due = dueMs > afterMs && dueMs <= untilMs ? tasks : [];
      walked += due.length;
      return due as unknown as Task[];
    });
    try {
      aheadClaimer.start();
      // The instant is within the first lead: the first round claims its runs, the next ones poll.
      for (let round = 0; round < 4; round++) await timers.fire();
      assert.equal(rounds, 4);
      assert.ok(clock.nowMs() < dueMs, "all before the instant");
      assert.equal(walked, tasks.length, "each task looked at once");
      const [claim] = await ahead.claimRuns([
        { taskName: "t7", scheduledAt: dueMs, nodeId: "n", leaseMs: 60_000 },
      ]);
      assert.equal(claim?.taskName, "t7", "claimed ahead");
    } finally {
      await aheadClaimer.stop();
      ahead.stopRenewing();
      await close();
    }
    assert.equal(timers.pending(), false, "stop cleared the timer");
  });

  it("looks again at an instant whose tasks were busy (their previous run's row on its way), a few rounds at most", async () => {
    const { clock, ahead, timers, dueMs, task, claimer, close } = await claimerRig(900);
    const idle = [task("idle")];
    const late = task("late");
    const never = task("never");
    let lateBusy = true;
    const looks: string[][] = [];
    const aheadClaimer = claimer((untilMs, _limit, afterMs, busy) => {
      if (!(dueMs > afterMs && dueMs <= untilMs)) return [];
      // "never" stays busy (a long run in flight); "late" is busy at the first look only.
      const due = lateBusy ? idle : [...idle, late];
      for (const left of lateBusy ? [late, never] : [never])
        if (busy !== undefined) busy.earliestMs = Math.min(busy.earliestMs, left.nextRunMs);
      looks.push(due.map((t) => t.name));
      return due as unknown as Task[];
    });
    try {
      aheadClaimer.start();
      await timers.fire();
      assert.deepEqual(looks, [["idle"]]);
      lateBusy = false;
      for (let round = 0; round < 8; round++) await timers.fire();
      assert.ok(clock.nowMs() < dueMs, "all before the instant");
      assert.equal(looks.length, 1 + MAX_RELOOKS, "looked again a few rounds, then no more");
      assert.ok(
        ahead.heldAhead("idle", dueMs) && ahead.heldAhead("late", dueMs),
        "both claimed ahead",
      );
      assert.equal(ahead.heldAhead("never", dueMs), false);
    } finally {
      await aheadClaimer.stop();
      ahead.stopRenewing();
      await close();
    }
  });

  it("planned runs take their claims taken ahead; a run that does not start gives its back unspent", async () => {
    const T = Date.parse("2030-01-01T01:00:00Z");
    const clock = new ManualClock(T - 500);
    const { store, close } = await openSqlite(clock);
    const ahead = leased(store);
    let askedAtInstant = 0;
    const claimRuns = ahead.claimRuns.bind(ahead);
    ahead.claimRuns = (requests) => {
      askedAtInstant += requests.length;
      return claimRuns(requests);
    };
    const engine = engineOver(clock, ahead, {
      nodeId: "n",
      leaseMs: 60_000,
      claimsAhead: {
        take: (taskName, scheduledAtMs) => ahead.takeClaimedAhead(taskName, scheduledAtMs, "n"),
        hold: (claim) => ahead.holdClaimedAhead(claim),
      },
    });
    const cache = new CronCache();
    let calls = 0;
    const tasks = Array.from({ length: PLAN_AHEAD_MIN_RUNS }, (_, i) => {
      const schedule = compileSchedule("0 * * * *", {
        nowMs: clock.nowMs(),
        timezone: "UTC",
        cache,
      });
      const task = new Task(`t${i}`, schedule, () => void calls++, resolveTaskOptions({}));
      engine.schedule(task, T);
      return task;
    });
    try {
      const requests = engine
        .dueBy(T, 10_000)
        .map((task) => ({ taskName: task.name, scheduledAt: T, nodeId: "n", leaseMs: 60_000 }));
      assert.equal(await ahead.claimAhead(requests), tasks.length);
      engine.planAhead(T);
      engine.pause(tasks[0] as Task);
      clock.set(T);
      const report = await engine.runDue(T);
      assert.equal(report.ran, tasks.length - 1);
      assert.equal(calls, tasks.length - 1);
      assert.equal(askedAtInstant, 0, "the instant asked for no claim");
      // The paused task's claim went back to those held ahead, and is given back unspent.
      assert.equal(await ahead.giveBackUnused(Number.POSITIVE_INFINITY), 1);
      assert.notEqual(await store.claimRun({ ...requests[0]!, scheduledAt: T }), null);
      assert.equal(
        await store.claimRun({ ...requests[1]!, scheduledAt: T }),
        null,
        "spent by its run",
      );
    } finally {
      ahead.stopRenewing();
      await close();
    }
  });

  it("a burst on a SQLite store starts no run before its scheduled time, each once", async () => {
    const { clock, scheduler, close } = await sqliteScheduler();
    const tasks = 500;
    const starts = new Map<string, number>();
    let allRan: () => void = () => {};
    const done = new Promise<void>((resolve) => (allRan = resolve));
    const early: string[] = [];
    scheduler.defineHandler("h", (ctx) => {
      const now = clock.nowMs();
      if (now < ctx.scheduledAt.getTime()) early.push(ctx.taskName);
      assert.equal(starts.has(ctx.taskName), false);
      starts.set(ctx.taskName, now);
      if (starts.size === tasks) allRan();
    });
    try {
      await scheduler.start();
      const dueAt = new Date(clock.nowMs() + 3_000); // after every registration, even on a loaded machine
      await Promise.all(
        Array.from({ length: tasks }, (_, i) => scheduler.registerTask(`t${i}`, dueAt, "h")),
      );
      await done;
      assert.deepEqual(early, []);
      await scheduler.stop(); // waits for every run to be recorded
      const history = await scheduler.history(undefined, { limit: 10_000 });
      assert.equal(history.filter((row) => row.status === "succeeded").length, tasks);
      assert.equal(history.length, tasks);
    } finally {
      await close();
    }
  });
  it("stop() gives back the claims taken ahead at once, not after the callbacks in flight end", async () => {
    const { db, clock, scheduler, close } = await sqliteScheduler();
    // Opened once the store made the file.
    let reader: Database.Database | undefined;
    const claimsOf = (task: string) =>
      (
        (reader ??= new Database(db.path, { readonly: true }))
          .prepare("select count(*) as n from claims where task_name = ?")
          .get(task) as { n: number }
      ).n;
    let release: () => void = () => {};
    const inFlight = new Promise<void>((resolve) => (release = resolve));
    let slowStarted = false;
    scheduler.defineHandler("slow", async () => {
      slowStarted = true;
      await inFlight;
    });
    scheduler.defineHandler("quick", () => {});
    try {
      await scheduler.start();
      const now = clock.nowMs();
      await scheduler.registerTask("slow", new Date(now + 300), "slow");
      // Claimed ahead a second before it is due, then held while stop() waits for "slow".
      await scheduler.registerTask("later", new Date(now + 4_000), "quick");
      await waitFor(
        "the slow run, and the claim taken ahead",
        () => slowStarted && claimsOf("later") === 1,
      );
      const stopped = scheduler.stop();
      // Before, held until "slow" ended: its run, due meanwhile, was found claimed by the nodes taking over.
      await waitFor("the claim given back", () => claimsOf("later") === 0, { timeoutMs: 2_000 });
      release();
      await stopped;
      const history = await scheduler.history();
      assert.deepEqual(
        history.map((row) => `${row.taskName} ${row.status}`),
        ["slow succeeded"],
        "the run claimed ahead did not run here",
      );
    } finally {
      release();
      await scheduler.stop();
      reader?.close();
      await close();
    }
  });

  it("a slot settled as not run gives back the claim taken ahead for it, even one still on its way", async () => {
    // A due run's claim failed during an outage (its slot to be recorded missed) while a
    // claim ahead of the same slot was still waiting for the store; the claim then came
    // in, the store refused the missed row as claimed, and the claim later went back
    // unused: the slot had no row (seen in store-outage-runs.test.ts under load).
    const clock = new ManualClock("2030-01-01T00:00:00Z");
    const { store, close } = await openSqlite(clock);
    let letClaimsIn: () => void = () => {};
    const held = new Promise<void>((resolve) => (letClaimsIn = resolve));
    const slow = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== "function") return value;
        const bound = (value as (...a: unknown[]) => unknown).bind(target);
        if (key !== "claimRuns") return bound;
        // The claim is made in the store at once; its answer comes back when the test says.
        return async (...args: unknown[]) => {
          const answer = bound(...args);
          await held;
          return answer;
        };
      },
    });
    const ahead = leased(slow);
    try {
      const first = clock.nowMs() + 1_000;
      const request = (scheduledAt: number): ClaimRequest => ({
        taskName: "tick",
        scheduledAt,
        nodeId: "n",
        leaseMs: 60_000,
      });
      const claiming = ahead.claimAhead([request(first)]);
      const missed = {
        taskName: "tick",
        claimId: null,
        scheduledAt: first,
        startedAt: null,
        finishedAt: null,
        status: "missed" as const,
        attempt: 1,
        nodeId: "n",
        error: { message: "its claim could not be made: the store was unusable" },
      };
      const settling = ahead.settleSlots([missed]);
      letClaimsIn();
      assert.equal(await claiming, 1, "the claim ahead was made");
      assert.deepEqual(await settling, [true], "the missed row is written, not refused as claimed");
      // A claim already held ahead is given back too, for every slot of a missed range.
      // (Two slots of one task held at once: not exclusive, else the second comes back
      // overlapping, and a claim ahead that overlaps is given back at once.)
      const later = [first + 1_000, first + 2_000];
      const shared = (at: number): ClaimRequest => ({ ...request(at), exclusive: false });
      assert.equal(await ahead.claimAhead(later.map(shared)), 2);
      const range = {
        ...missed,
        scheduledAt: later[0] as number,
        missedThrough: later[1],
        missedCount: 2,
      };
      assert.deepEqual(await ahead.settleSlots([range]), [true]);
      assert.equal(
        await ahead.giveBackUnused(Number.POSITIVE_INFINITY),
        0,
        "nothing left to give back",
      );
      const rows = await store.history({ taskName: "tick" });
      assert.deepEqual(
        rows.map((r) => [r.status, r.scheduledAt, r.missedThrough ?? null]).sort(),
        [
          ["missed", first, null],
          ["missed", later[0], later[1]],
        ].sort(),
      );
    } finally {
      ahead.stopRenewing();
      await close();
    }
  });

  it("a claim batch that fails whole puts back the claims taken ahead it answered; their slots' missed rows give them back", async () => {
    // Seen in the chaos suite (pg-restart, pg-terminate): at an instant some runs were
    // answered from claims taken ahead, the store failed the rest, and the batch failed
    // whole: its runs were recorded missed, but the claims taken out stayed held (renewed)
    // by no run, so the missed rows were refused as claimed and the slots had no row.
    const clock = new ManualClock("2030-01-01T00:00:00Z");
    const { store, close } = await openSqlite(clock);
    const ahead = leased(store);
    const claimRuns = store.claimRuns.bind(store);
    try {
      const at = clock.nowMs() + 1_000;
      const request = (taskName: string) => requestOf(taskName, at);
      assert.equal(await ahead.claimAhead([request("a"), request("b")]), 2);
      store.claimRuns = () => Promise.reject(new Error("the store is down"));
      await assert.rejects(ahead.claimRuns([request("a"), request("c")]), /the store is down/);
      assert.equal(ahead.heldAhead("a", at), true, "put back by the failed batch");
      await assert.rejects(ahead.takeOver([request("b"), request("c")]), /the store is down/);
      assert.equal(ahead.heldAhead("b", at), true, "put back by the failed takeover");
      store.claimRuns = claimRuns;
      const missed = (taskName: string) => ({
        taskName,
        claimId: null,
        scheduledAt: at,
        startedAt: null,
        finishedAt: null,
        status: "missed" as const,
        attempt: 1,
        nodeId: "n",
        error: { message: "its claim could not be made: the store was unusable" },
      });
      assert.deepEqual(await ahead.settleSlots([missed("a"), missed("b"), missed("c")]), [
        true,
        true,
        true,
      ]);
      assert.equal(await ahead.giveBackUnused(Number.POSITIVE_INFINITY), 0, "none left held");
    } finally {
      store.claimRuns = claimRuns;
      ahead.stopRenewing();
      await close();
    }
  });
});
