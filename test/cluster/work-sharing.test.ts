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
import type { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import type { NodeBeat, Store } from "../../src/store/store.js";
import { requirePg, waitFor, withTestSchema } from "../helpers/pg.js";
import { sharingNode, statusesBySlot, storeWith } from "../helpers/store-proxy.js";

const KEY = randomBytes(32);
const TASKS = 60;
const LEASE_MS = 2_000;

/** The store, with `heartbeatNode` answering `view` (this node's wrong idea of who is live). */
function withView(store: PostgresStore, view: (beat: NodeBeat) => string[]): Store {
  return storeWith(store, {
    heartbeatNode: (target) => async (beat: NodeBeat) => {
      await target.heartbeatNode(beat);
      return view(beat);
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
      return sharingNode({
        connectionString: db.connectionString,
        schema: db.name,
        nodeId,
        leaseMs: LEASE_MS,
        encryptionKey: KEY,
        wrap: (store) => withView(store, view),
        closers,
      });
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

      const bySlot = await statusesBySlot(db.admin, db.name, from, to);
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
