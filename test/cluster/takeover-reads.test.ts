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
import type { NodeBeat, RunKey, Store } from "../../src/store/store.js";
import { requirePg, waitFor, withTestSchema } from "../helpers/pg.js";
import { sharingNode, statusesBySlot, storeWith } from "../helpers/store-proxy.js";

const KEY = randomBytes(32);
const TASKS = 40;
const NODES = ["node-1", "node-2", "node-3", "node-4"];

type Node = ReturnType<typeof sharingNode>;

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

    it("leaves no slot without a row when a task's first three nodes all leave at once", async () => {
      const ids = ["gap-1", "gap-2", "gap-3", "gap-4"];
      // gap-4 keeps seeing the other three for a while after they stopped (its view lags), so
      // for the tasks whose first three they were it reads nothing: those runs are nobody's.
      let stale = true;
      const nodes = ids.map((nodeId) =>
        sharingNode({
          connectionString: db.connectionString,
          schema: db.name,
          nodeId,
          leaseMs: 2_000,
          encryptionKey: KEY,
          wrap: (store) =>
            nodeId !== "gap-4"
              ? store
              : storeWith(store, {
                  heartbeatNode: (target) => async (beat: NodeBeat) => {
                    const live = await target.heartbeatNode(beat);
                    return stale ? ids : live;
                  },
                }),
          closers,
        }),
      );
      const [one, , , last] = nodes as [Node, Node, Node, Node];
      await one.scheduler.runPending(); // opens the store
      for (let i = 0; i < TASKS; i++)
        await one.scheduler.registerTask(`gap-${i}`, "* * * * * *", "tick");
      await Promise.all(nodes.map((node) => node.scheduler.start()));
      await waitFor("every node sees the four", () =>
        nodes.every((node) => node.live.at(-1)?.length === ids.length),
      );
      const from = Math.ceil(Date.now() / 1000) * 1000 + 1000;
      await sleep(from + 200 - Date.now());
      await Promise.all(nodes.slice(0, 3).map((node) => node.scheduler.stop()));
      await sleep(2_500);
      stale = false;
      await waitFor("gap-4 alone", () => last.live.at(-1)?.length === 1);
      const to = Math.ceil(Date.now() / 1000) * 1000;
      await sleep(to + 2_000 - Date.now());
      await last.scheduler.stop();

      const rows = (
        await db.admin.query<{ task: string; at: number; through: number | null; status: string }>(
          `select task_name as task, (extract(epoch from scheduled_at) * 1000)::float8 as at,
             (extract(epoch from missed_through) * 1000)::float8 as through, status
           from "${db.name}".runs where task_name like 'gap-%' and scheduled_at < $1`,
          [new Date(to)],
        )
      ).rows;
      const outcomes = new Map<string, string[]>();
      for (const row of rows)
        for (let at = row.at; at <= (row.through ?? row.at); at += 1000) {
          const key = `${row.task}@${at}`;
          outcomes.set(key, [...(outcomes.get(key) ?? []), row.status]);
        }
      const wrong: string[] = [];
      for (let at = from; at < to; at += 1000)
        for (let i = 0; i < TASKS; i++) {
          const key = `gap-${i}@${at}`;
          const found = (outcomes.get(key) ?? []).filter((status) => status !== "lost");
          if (found.length !== 1) wrong.push(`${key}: ${JSON.stringify(found)}`);
        }
      assert.deepEqual(wrong, [], "every slot has exactly one outcome");
    });
  });
}
