/**
 * Sharing the work is the default on a shared store that keeps a membership:
 * a Scheduler given no `shareWork` joins the `nodes` table and reports the
 * live nodes; `shareWork: false` keeps out of it (every node then claims
 * every due run). A real SQLite file, the real clock.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { waitFor } from "../helpers/pg.js";

const LEASE_MS = 2_000;

describe("cluster: sharing the work by default", () => {
  const dir = mkdtempSync(join(tmpdir(), "orch-share-default-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function started(nodeId: string, shareWork: boolean | undefined) {
    const store = new SqliteStore({ path: join(dir, `${nodeId}.db`) });
    const dispatcher = new Dispatcher();
    const scheduler = new Scheduler(dispatcher, {
      store,
      nodeId,
      leaseMs: LEASE_MS,
      logger: silentLogger,
      timezone: "UTC",
      testMode: true,
      ...(shareWork === undefined ? {} : { shareWork }),
    });
    const live: string[][] = [];
    scheduler.on("nodes:changed", (event) => live.push([...event.live]));
    await scheduler.start();
    const stop = async () => {
      await scheduler.stop();
      await dispatcher.close();
    };
    return { store, live, stop };
  }

  it("joins the membership when nothing is said", async () => {
    const node = await started("node-default", undefined);
    try {
      await waitFor("the node to count itself live", () =>
        node.live.some((view) => view.includes("node-default")),
      );
    } finally {
      await node.stop();
    }
  });

  it("keeps out of it with shareWork: false", async () => {
    const node = await started("node-racing", false);
    try {
      // Three beat periods (leaseMs / 4 each) without a view of the membership.
      await sleep((3 * LEASE_MS) / 4);
      assert.deepEqual(node.live, []);
    } finally {
      await node.stop();
    }
  });
});
