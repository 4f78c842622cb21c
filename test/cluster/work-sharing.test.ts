/**
 * Sharing the work is an optimisation, never the safety: claims stay unique.
 * Two Schedulers (real clock) on one PostgreSQL schema, each with a wrong
 * view of the membership: node-a believes it is alone (it owns every task),
 * node-b believes it shares the work with a node that does not exist (whose
 * runs it takes over after the delay, finding them claimed by node-a). Every
 * (task, instant) runs exactly once. (The true membership, a kill and a
 * join: work-sharing.process.test.ts.)
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import type { NodeBeat, Store } from "../../src/store/store.js";
import { requirePg, waitFor, withTestSchema } from "../helpers/pg.js";

const KEY = randomBytes(32);
const TASKS = 60;
const LEASE_MS = 2_000;

/** The store, with `heartbeatNode` answering `view` (this node's wrong idea of who is live). */
function withView(store: PostgresStore, view: (beat: NodeBeat) => string[]): Store {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (property === "heartbeatNode")
        return async (beat: NodeBeat) => {
          await target.heartbeatNode(beat);
          return view(beat);
        };
      return typeof value === "function"
        ? (value as (...args: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

if (await requirePg("work-sharing safety test")) {
  describe("cluster: a wrong membership costs latency, never a double run", () => {
    const db = withTestSchema("orch_share_view");
    const closers: (() => Promise<void>)[] = [];
    after(async () => {
      for (const close of closers.reverse()) await close();
    });

    function node(nodeId: string, view: (beat: NodeBeat) => string[]) {
      const pgStore = new PostgresStore({ connectionString: db.connectionString, schema: db.name });
      const dispatcher = new Dispatcher();
      const scheduler = new Scheduler(dispatcher, {
        store: withView(pgStore, view),
        nodeId,
        leaseMs: LEASE_MS,
        encryptionKey: KEY,
        logger: silentLogger,
        timezone: "UTC",
        shareWork: true,
      });
      const live: string[][] = [];
      scheduler.on("nodes:changed", (event) => live.push([...event.live]));
      scheduler.defineHandler("tick", () => undefined);
      closers.push(async () => {
        await scheduler.stop();
        await pgStore.close();
        await dispatcher.close();
      });
      return { scheduler, live };
    }

    it("runs every (task, instant) exactly once when two nodes each believe they own everything or nothing", async () => {
      const a = node("node-a", () => ["node-a"]);
      const b = node("node-b", () => ["node-b", "node-ghost"]);
      await a.scheduler.runPending(); // opens the store
      for (let i = 0; i < TASKS; i++)
        await a.scheduler.registerTask(`view-${i}`, "* * * * * *", "tick");
      await Promise.all([a.scheduler.start(), b.scheduler.start()]);
      // Each leaves itself out for its first beat period (it just joined), then counts itself.
      await waitFor("both views", () => a.live.at(-1)?.length === 1 && b.live.at(-1)?.length === 2);
      assert.deepEqual(a.live.at(-1), ["node-a"]);
      assert.deepEqual(b.live.at(-1), ["node-b", "node-ghost"]);
      const from = Math.ceil(Date.now() / 1000) * 1000 + 1000;
      const to = from + 3000;
      await sleep(to + 1500 - Date.now());
      await Promise.all([a.scheduler.stop(), b.scheduler.stop()]);

      const rows = (
        await db.admin.query<{ task: string; at: number; status: string; node: string }>(
          `select task_name as task, (extract(epoch from scheduled_at) * 1000)::float8 as at,
             status, node_id as node
           from "${db.name}".runs where scheduled_at >= $1 and scheduled_at < $2`,
          [new Date(from), new Date(to)],
        )
      ).rows;
      const bySlot = new Map<string, string[]>();
      for (const row of rows) {
        const key = `${row.task}@${row.at}`;
        bySlot.set(key, [...(bySlot.get(key) ?? []), `${row.status} by ${row.node}`]);
      }
      for (let at = from; at < to; at += 1000)
        for (let i = 0; i < TASKS; i++) {
          const key = `view-${i}@${at}`;
          assert.deepEqual(
            (bySlot.get(key) ?? []).map((story) => story.split(" ")[0]),
            ["succeeded"],
            `${key}: ${JSON.stringify(bySlot.get(key))}`,
          );
        }
    });
  });
}
