/**
 * The PostgreSQL history's layout (migration 11) against the real server:
 * partitions created ahead, retention dropping whole partitions, the online
 * move of an existing history while another connection keeps inserting, and
 * a node that stops claiming when a newer schema appears.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { SchemaWatch } from "../../src/cluster/schema-watch.js";
import { LeasedStore } from "../../src/leasing/leased-store.js";
import { HISTORY_PARTITIONS_VERSION } from "../../src/store/postgres/history-migration.js";
import { createStore } from "../../src/cli/open-store.js";
import { parseStoreUrl } from "../../src/cli/store-url.js";
import { listHistoryPartitions } from "../../src/store/postgres/history-partitions.js";
import { LATEST_VERSION, migrate } from "../../src/store/postgres/migrations.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { quoteSchema } from "../../src/store/postgres/queries.js";
import { ManualClock, SystemClock } from "../../src/time/clock.js";
import { recordingLogger } from "../helpers/scheduler.js";
import { requirePg, waitFor, withTestSchema } from "../helpers/pg.js";
import { runRecord } from "./contract-helpers.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

if (await requirePg("PostgreSQL history partition tests")) {
  describe("PostgreSQL history partitions (migration 11)", () => {
    const db = withTestSchema("orch_hist");

    async function withStore(
      body: (store: PostgresStore, schema: string) => Promise<void>,
      options: { historyPartitionHours?: number } = {},
    ): Promise<void> {
      const schema = db.freshName();
      const store = new PostgresStore({
        connectionString: db.connectionString,
        schema,
        maxConnections: 3,
        ...options,
      });
      try {
        await store.open({ nodeId: "hist", clock: new SystemClock() });
        await body(store, schema);
      } finally {
        await store.close();
      }
    }

    async function partitions(schema: string) {
      const client = await db.admin.connect();
      try {
        return await listHistoryPartitions(client, quoteSchema(schema));
      } finally {
        client.release();
      }
    }

    it("the daemon's --store URL gives the store its historyPartitionHours", async () => {
      const schema = db.freshName();
      const url = `${db.connectionString}?schema=${schema}&historyPartitionHours=3`;
      const store = await createStore(parseStoreUrl(url));
      try {
        await store.open({ nodeId: "hist", clock: new SystemClock() });
        const ranges = (await partitions(schema)).filter((p) => p.fromMs !== null);
        assert.ok(ranges.length > 0);
        for (const p of ranges) assert.equal((p.toMs as number) - (p.fromMs as number), 3 * HOUR);
      } finally {
        await store.close();
      }
    });

    it("a new schema's history is partitioned, with partitions a day ahead and a default one", async () => {
      await withStore(
        async (store, schema) => {
          const kind = await db.admin.query<{ relkind: string }>(
            "select relkind::text from pg_class where oid = to_regclass($1)",
            [`"${schema}".runs`],
          );
          assert.equal(kind.rows[0]?.relkind, "p");
          const now = await store.now();
          const found = await partitions(schema);
          assert.ok(found.some((p) => p.isDefault));
          assert.ok(!found.some((p) => p.name === "runs_legacy"), "an empty history is not kept");
          const ranges = found.filter((p) => p.fromMs !== null && p.toMs !== null);
          for (const p of ranges) assert.equal((p.toMs as number) - (p.fromMs as number), 6 * HOUR);
          const covered = Math.max(...ranges.map((p) => p.toMs as number));
          assert.ok(covered >= now + DAY, "a day ahead is covered");
          // A row lands in the partition of its scheduled time; history reads across partitions.
          await store.recordRun(runRecord("p", now));
          await store.recordRun(runRecord("p", now - 30 * DAY));
          assert.equal((await store.history({ taskName: "p" })).length, 2);
          const where = await db.admin.query<{ part: string }>(
            `select tableoid::regclass::text as part from "${schema}".runs order by scheduled_at`,
          );
          assert.match(where.rows[0]?.part ?? "", /runs_default$/);
          assert.match(where.rows[1]?.part ?? "", /runs_p\d{10}$/);
          // Maintenance puts back partitions missing ahead, moving in the rows the default one took meanwhile.
          const newest = ranges.at(-1) as (typeof ranges)[number];
          await db.admin.query(`drop table "${schema}".${newest.name}`);
          await store.recordRun(runRecord("stray", (newest.fromMs as number) + 1000));
          await store.maintainHistory();
          assert.ok((await partitions(schema)).some((p) => p.name === newest.name));
          const stray = await db.admin.query<{ part: string }>(
            `select tableoid::regclass::text as part from "${schema}".runs where task_name = 'stray'`,
          );
          assert.equal(stray.rows[0]?.part, `${schema}.${newest.name}`);
        },
        { historyPartitionHours: 6 },
      );
    });

    it("retention drops partitions wholly past it, and deletes only the rows past it elsewhere", async () => {
      await withStore(async (store, schema) => {
        const now = await store.now();
        const day = (n: number) => Math.floor(now / DAY) * DAY - n * DAY;
        // Two past days, as maintenance would have made them days ago.
        for (const n of [10, 9]) {
          const name = `runs_p${new Date(day(n)).toISOString().slice(0, 10).replaceAll("-", "")}00`;
          await db.admin.query(`create table "${schema}".${name} partition of "${schema}".runs
            for values from ('${new Date(day(n)).toISOString()}') to ('${new Date(day(n - 1)).toISOString()}')`);
        }
        for (let i = 0; i < 50; i++) await store.recordRun(runRecord("old", day(10) + i * 1000));
        // In the second day: one old row, and one run that finished only now (too young to go).
        await store.recordRun(runRecord("old", day(9) + 1000));
        await store.recordRun(runRecord("long", day(9) + 2000, { finishedAt: now }));
        await store.recordRun(runRecord("young", now));
        const before = (await partitions(schema)).map((p) => p.name);
        await store.pruneHistory({ maxAgeMs: 5 * DAY, maxRows: Number.MAX_SAFE_INTEGER });
        const after = (await partitions(schema)).map((p) => p.name);
        const gone = before.filter((name) => !after.includes(name));
        assert.equal(gone.length, 1, "the partition of day -10 was dropped, not emptied");
        assert.match(gone[0] ?? "", /runs_p\d{10}/);
        const left = (await store.history({ limit: 100 })).map((row) => row.taskName).sort();
        assert.deepEqual(left, ["long", "young"]);
      });
    });

    it("moves a big existing history online: writers on another connection lose nothing", async () => {
      const schema = db.freshName();
      const s = quoteSchema(schema);
      const pool = new pg.Pool({ connectionString: db.connectionString, max: 3 });
      pool.on("error", () => undefined);
      try {
        const client = await pool.connect();
        try {
          await migrate(client, schema, s, "old-node", { through: HISTORY_PARTITIONS_VERSION - 1 });
          await client.query(`insert into ${s}.runs
            (task_name, scheduled_at, started_at, finished_at, status, attempt, node_id)
            select 'bulk-' || (g % 100), at, at, at + interval '5 ms', 'succeeded', 1, 'old-node'
            from generate_series(1, 200000) g,
              lateral (select now() - (200001 - g) * interval '1 second' as at) x`);
          await client.query(`insert into ${s}.tasks (name, schedule, options, callback_encoding,
            callback_plain, state, created_at, updated_at)
            values ('bulk-1', '{}', '{}', 'plain', '{}', 'active', now(), now())`);
        } finally {
          client.release();
        }
        // An older node keeps writing history rows, one statement each, as fast as it can.
        let stop = false;
        let written = 0;
        const errors: unknown[] = [];
        let slowestMs = 0;
        const writer = (async () => {
          while (!stop) {
            const started = performance.now();
            try {
              await pool.query(`insert into ${s}.runs
                (task_name, scheduled_at, started_at, finished_at, status, attempt, node_id)
                values ('writer', now(), now(), now(), 'succeeded', 1, 'old-node')`);
              written++;
            } catch (error) {
              errors.push(error);
            }
            slowestMs = Math.max(slowestMs, performance.now() - started);
          }
        })();
        await waitFor("the writer to start", () => written > 10);
        const startedMs = performance.now();
        const store = new PostgresStore({ connectionString: db.connectionString, schema });
        try {
          await store.open({ nodeId: "new-node", clock: new SystemClock() });
          const migrationMs = performance.now() - startedMs;
          const atMigration = written;
          await waitFor("rows written after the move", () => written > atMigration + 10);
          stop = true;
          await writer;
          assert.deepEqual(errors, []);
          // The move, and every migration after it.
          assert.deepEqual(
            store.migrationsApplied,
            Array.from(
              { length: LATEST_VERSION - HISTORY_PARTITIONS_VERSION + 1 },
              (_, i) => HISTORY_PARTITIONS_VERSION + i,
            ),
          );
          const count = await pool.query<{ n: string }>(`select count(*) as n from ${s}.runs`);
          assert.equal(Number(count.rows[0]?.n), 200_000 + written, "no row lost");
          const found = await partitions(schema);
          const legacy = found.find((p) => p.name === "runs_legacy");
          assert.ok(legacy !== undefined && legacy.fromMs === null, "the old table is a partition");
          // A row scheduled past the cut-over goes to a new partition, and its id continues the old ones'.
          await store.recordRun(runRecord("after", (legacy.toMs as number) + HOUR));
          const placed = await pool.query<{ part: string; id: string; max_old: string }>(
            `select tableoid::regclass::text as part, id::text,
              (select max(id) from ${s}.runs_legacy)::text as max_old
             from ${s}.runs where task_name = 'after'`,
          );
          assert.match(placed.rows[0]?.part ?? "", /runs_p\d{10}$/);
          assert.ok(BigInt(placed.rows[0]?.id ?? 0) > BigInt(placed.rows[0]?.max_old ?? 0));
          // History reads and summaries work on the moved rows.
          const page = await store.history({ taskName: "bulk-1", limit: 3 });
          assert.equal(page.length, 3);
          assert.ok((page[0]?.scheduledAt ?? 0) > (page[2]?.scheduledAt ?? 0), "newest first");
          const summary = (await store.taskSummaries(["bulk-1"])).get("bulk-1");
          assert.equal(summary?.lastStatus, "succeeded");
          assert.equal(summary?.recentDurationsMs.length, 20);
          console.log(
            `# online move of 200,000 rows: open took ${migrationMs.toFixed(0)} ms; ` +
              `${written} concurrent inserts, slowest ${slowestMs.toFixed(0)} ms`,
          );
        } finally {
          stop = true;
          await writer;
          await store.close();
        }
      } finally {
        await pool.end();
      }
    });

    it("a node stops claiming, and says so, when a newer orchestrator migrated the schema", async () => {
      await withStore(async (store, schema) => {
        const logger = recordingLogger();
        const leased = new LeasedStore(store, {
          leaseMs: 60_000,
          exclusive: () => false,
          onLeaseLost: () => undefined,
          onRenewError: () => undefined,
        });
        const watch = new SchemaWatch({
          store,
          logger,
          stopClaiming: (reason) => leased.stopClaiming(reason),
          emit: () => undefined,
        });
        const now = await store.now();
        const ask = (at: number) => ({
          taskName: "t",
          scheduledAt: at,
          nodeId: "hist",
          leaseMs: 60_000,
        });
        await watch.check();
        assert.equal(watch.newer, undefined);
        const held = await leased.claimRun(ask(now));
        assert.ok(held !== null);
        // A newer binary migrates the schema (as its migrate() would record it).
        await db.admin.query(
          `insert into "${schema}".migrations (version, name, applied_by) values ($1, 'future', 'v-next')`,
          [LATEST_VERSION + 1],
        );
        await watch.check();
        assert.deepEqual(watch.newer, { found: LATEST_VERSION + 1, known: LATEST_VERSION });
        const errors = logger.entries.filter((entry) => entry.level === "error");
        assert.equal(errors.length, 1);
        assert.match(
          errors[0]?.msg ?? "",
          new RegExp(`version ${LATEST_VERSION + 1}.*\\(${LATEST_VERSION}\\)`),
        );
        assert.match(errors[0]?.msg ?? "", /stops claiming.*upgrade/);
        assert.equal(await leased.claimRun(ask(now + 1000)), null, "no claim made");
        assert.deepEqual(await leased.claimRuns([ask(now + 2000)]), [null]);
        const claims = await db.admin.query(
          `select 1 from "${schema}".claims where scheduled_at > to_timestamp($1::float8 / 1000)`,
          [now],
        );
        assert.equal(claims.rowCount, 0, "nothing claimed in the store");
        // The run it held still finishes and is recorded.
        assert.equal(await leased.finishRun(runRecord("t", now, { claimId: held.id }), held), true);
        leased.stopRenewing();
      });
    });

    it("a running scheduler stops claiming within a maintenance round of a newer schema", async () => {
      const schema = db.freshName();
      const store = new PostgresStore({ connectionString: db.connectionString, schema });
      const clock = new ManualClock("2030-01-01T00:00:00Z");
      const logger = recordingLogger();
      const dispatcher = new Dispatcher();
      const scheduler = new Scheduler(dispatcher, {
        store,
        clock,
        nodeId: "old-node",
        leaseMs: 1_000,
        logger,
        timezone: "UTC",
        encryptionKey: randomBytes(32),
      });
      const ran: number[] = [];
      try {
        scheduler.defineHandler("tick", (ctx) => void ran.push(ctx.scheduledAt.getTime()));
        await scheduler.registerTask("every-second", "* * * * * *", "tick");
        await scheduler.start();
        const start = clock.nowMs();
        await scheduler.advanceTo(start + 1000);
        assert.equal(ran.length, 1);
        await db.admin.query(
          `insert into "${schema}".migrations (version, name, applied_by) values ($1, 'future', 'v-next')`,
          [LATEST_VERSION + 1],
        );
        const line = await waitFor("the error line", () =>
          logger.entries.find(
            (entry) => entry.level === "error" && /stops claiming/.test(entry.msg ?? ""),
          ),
        );
        assert.deepEqual(line.obj, {
          schemaVersion: LATEST_VERSION + 1,
          knownVersion: LATEST_VERSION,
        });
        await scheduler.advanceTo(start + 3000);
        assert.equal(ran.length, 1, "no run started after the newer schema appeared");
        const rows = await scheduler.history("every-second", { limit: 10 });
        assert.deepEqual(
          rows.map((row) => row.scheduledAt),
          [start + 1000],
          "and nothing recorded",
        );
      } finally {
        await scheduler.stop();
        await store.close();
        await dispatcher.close();
      }
    });
  });
}
