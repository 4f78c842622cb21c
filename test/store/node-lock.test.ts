/**
 * A node id is held by one live process per store: a second open with the
 * same id (and `exclusiveNode`) is refused with NodeIdInUseError until the
 * first closes; on PostgreSQL a hold lost with its connection is taken again,
 * and when another process took the id meanwhile the holder is told.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { NodeIdInUseError } from "../../src/errors.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { SystemClock } from "../../src/time/clock.js";
import { requirePg, waitFor, withTestSchema } from "../helpers/pg.js";

const clock = new SystemClock();

function open(store: Store, nodeId: string, onNodeTaken?: () => void): Promise<void> {
  return store.open({
    nodeId,
    clock,
    exclusiveNode: true,
    ...(onNodeTaken === undefined ? {} : { onNodeTaken }),
  });
}

describe("SQLite node id lock", () => {
  it("refuses a second holder of one id, allows other ids, frees the id on close", async () => {
    const dir = await mkdtemp(join(tmpdir(), "orch-nodelock-"));
    const path = join(dir, "n.db");
    const a = new SqliteStore({ path });
    const b = new SqliteStore({ path });
    const c = new SqliteStore({ path });
    try {
      await open(a, "node-1");
      const refused = await open(b, "node-1").then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(refused instanceof NodeIdInUseError, String(refused));
      assert.equal(refused.code, "ERR_NODE_ID_IN_USE");
      assert.match(refused.message, /node-1.*--node-id/s);
      // The refused store stays closed and usable later.
      await open(c, "node-2");
      await c
        .putTask(
          {
            name: "t",
            schedule: { kind: "interval", everyMs: 1000 },
            timezone: "UTC",
            callback: { kind: "handler", handler: "h" },
            payload: undefined,
            options: {},
            nextRunMs: null,
            runCount: 0,
            state: "active",
            createdAt: 0,
            updatedAt: 0,
          } as never,
          { replace: false },
        )
        .catch(() => undefined);
      await a.close();
      await open(b, "node-1");
      // Without exclusiveNode nothing is taken (the CLI's one-shot commands).
      const d = new SqliteStore({ path });
      await d.open({ nodeId: "node-1", clock });
      await d.close();
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

if (await requirePg("PostgreSQL node id lock tests")) {
  describe("PostgreSQL node id lock", () => {
    const db = withTestSchema("orch_nodelock");

    it("refuses a second holder of one id until the first closes", async () => {
      const a = new PostgresStore({ connectionString: db.connectionString, schema: db.name });
      const b = new PostgresStore({ connectionString: db.connectionString, schema: db.name });
      try {
        await open(a, "pg-node");
        await assert.rejects(open(b, "pg-node"), NodeIdInUseError);
        await open(b, "pg-other");
        await b.close();
        await a.close();
        await open(b, "pg-node");
      } finally {
        await a.close();
        await b.close();
      }
    });

    it("takes the id again after its session was terminated; tells the holder when another took it", async () => {
      const appName = `orch-nodelock-${randomBytes(4).toString("hex")}`;
      const connectionString = `${db.connectionString}?application_name=${appName}`;
      const holders = async (): Promise<number[]> =>
        (
          await db.admin.query<{ pid: number }>(
            `select l.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid
              where l.locktype = 'advisory' and l.granted and a.application_name = $1`,
            [appName],
          )
        ).rows.map((row) => row.pid);
      const terminate = () =>
        db.admin.query(
          "select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1",
          [appName],
        );
      let taken = 0;
      const a = new PostgresStore({ connectionString, schema: db.name });
      const b = new PostgresStore({ connectionString: db.connectionString, schema: db.name });
      try {
        await open(a, "pg-lost", () => taken++);
        const first = await waitFor("the hold", async () => {
          const pids = await holders();
          return pids.length === 1 ? pids[0] : undefined;
        });
        await terminate();
        const second = await waitFor("the hold taken again", async () => {
          const pids = await holders();
          return pids.length === 1 && pids[0] !== first ? pids[0] : undefined;
        });
        assert.notEqual(second, first);
        assert.equal(taken, 0);
        // While a's hold is gone, b takes the id: a is told once it tries again.
        await terminate();
        await open(b, "pg-lost");
        await waitFor("a to be told", () => taken > 0);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
