/**
 * Four nodes sharing the work on one PostgreSQL schema (real clock, real
 * membership): a node reads whether a run was claimed (`Store.takenRuns`,
 * the takeover read) only for tasks it backs or is the third node of. Every
 * node used to read every run it did not own after twice the takeover delay,
 * so PostgreSQL's work per run grew with the nodes (8 nodes at 2,000 runs/s
 * saturated the benchmark's server: 4.3 reads per run). Every (task,
 * instant) still runs exactly once.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RendezvousShare } from "../../src/cluster/work-share.js";
import type { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import type { RunKey, Store } from "../../src/store/store.js";
import { requirePg, waitFor, withTestSchema } from "../helpers/pg.js";
import { sharingNode, statusesBySlot, storeWith } from "../helpers/store-proxy.js";

const KEY = randomBytes(32);
const TASKS = 40;
const NODES = ["node-1", "node-2", "node-3", "node-4"];

/** The store, noting the task names of every takeover read. */
function readsNoted(store: PostgresStore, read: Set<string>): Store {
  return storeWith(store, {
    takenRuns: (target) => (keys: readonly RunKey[]) => {
      for (const key of keys) read.add(key.taskName);
      return target.takenRuns(keys);
    },
  });
}

if (await requirePg("takeover reads test")) {
  describe("cluster: takeover reads", () => {
    const db = withTestSchema("orch_takeover_reads");
    const closers: (() => Promise<void>)[] = [];
    after(async () => {
      for (const close of closers.reverse()) await close();
    });

    it("are made only by each task's backup and third node; every run still once", async () => {
      const nodes = NODES.map((nodeId) => {
        const read = new Set<string>();
        const { scheduler, live } = sharingNode({
          connectionString: db.connectionString,
          schema: db.name,
          nodeId,
          leaseMs: 2_000,
          encryptionKey: KEY,
          wrap: (store) => readsNoted(store, read),
          closers,
        });
        return { nodeId, scheduler, read, live };
      });
      const first = nodes[0] as (typeof nodes)[number];
      await first.scheduler.runPending(); // opens the store
      for (let i = 0; i < TASKS; i++)
        await first.scheduler.registerTask(`reads-${i}`, "* * * * * *", "tick");
      await Promise.all(nodes.map((node) => node.scheduler.start()));
      await waitFor("every node sees the four", () =>
        nodes.every((node) => node.live.at(-1)?.length === NODES.length),
      );
      for (const node of nodes) node.read.clear();
      const from = Math.ceil(Date.now() / 1000) * 1000 + 1000;
      const to = from + 3000;
      await sleep(to + 1500 - Date.now());
      await Promise.all(nodes.map((node) => node.scheduler.stop()));

      for (const node of nodes) {
        const share = new RendezvousShare({ nodeId: node.nodeId, takeoverDelayMs: 500 });
        share.setLive(NODES);
        const past = [...node.read].filter((task) => !share.takesOver(task));
        assert.deepEqual(
          past,
          [],
          `${node.nodeId} read runs of tasks it is not among the three of`,
        );
      }
      const bySlot = await statusesBySlot(db.admin, db.name, from, to);
      for (let at = from; at < to; at += 1000)
        for (let i = 0; i < TASKS; i++) {
          const key = `reads-${i}@${at}`;
          const statuses = (bySlot.get(key) ?? []).map((story) => story.split(" ")[0]);
          assert.deepEqual(statuses, ["succeeded"], `${key}: ${JSON.stringify(bySlot.get(key))}`);
        }
    });
  });
}
