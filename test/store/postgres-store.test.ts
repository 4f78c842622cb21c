/**
 * PostgresStore against the real server: the shared Store contract, then what
 * only a shared SQL store has — concurrent migration, claims from several
 * pools, lease expiry and reaping by another node, LISTEN/NOTIFY between
 * stores, connection loss, and drift of the migrated schema against a snapshot.
 * Skipped with a message when PostgreSQL is not reachable (a failure under CI=true).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { describe, it } from "node:test";
import { InvalidArgumentError, LeaseLostError, StoreError } from "../../src/errors.js";
import { LeaseKeeper } from "../../src/leasing/lease-keeper.js";
import { LATEST_VERSION, MIGRATIONS } from "../../src/store/postgres/migrations.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import type { PostgresStoreOptions } from "../../src/store/postgres/postgres-options.js";
import type { Claim, StoreChange } from "../../src/store/store.js";
import { ManualClock, SystemClock } from "../../src/time/clock.js";
import { requirePg, waitFor, withTestSchema, type TestSchema } from "../helpers/pg.js";
import { inlineParameters } from "../../src/store/postgres/slot-locks.js";
import { runStoreContract } from "./contract.js";
import { runRecord, taskRecord } from "./contract-helpers.js";

const SNAPSHOT = new URL("./postgres-schema.snapshot.txt", import.meta.url);
const T = Date.UTC(2030, 5, 2, 6);

if (await requirePg("PostgresStore tests")) {
  // The contract (a fresh schema per test, mostly waiting on the server) runs
  // beside the specifics, which run one at a time: they share the file's schema.
  describe("PostgresStore", { concurrency: 2 }, () => {
    const db = withTestSchema();
    const opened: PostgresStore[] = [];

    /** A store on `schema` (default: the file's schema), opened as `nodeId`, closed by the caller or at the end of the test. */
    async function openStore(
      nodeId: string,
      options: Partial<PostgresStoreOptions> = {},
    ): Promise<PostgresStore> {
      const store = new PostgresStore({
        connectionString: db.connectionString,
        schema: db.name,
        maxConnections: 4,
        ...options,
      });
      opened.push(store);
      await store.open({ nodeId, clock: new SystemClock() });
      return store;
    }

    async function closeAll(): Promise<void> {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    }

    runStoreContract(
      "postgres",
      () => {
        const store = new PostgresStore({
          connectionString: db.connectionString,
          schema: db.freshName(),
          maxConnections: 4,
        });
        // The schema is dropped with the file's, on pass only (kept for debugging otherwise).
        return Promise.resolve({ store, cleanup: () => Promise.resolve() });
      },
      { concurrency: 3 },
    );

    describe("PostgreSQL specifics", { concurrency: 1 }, () => {
      it("validates the schema name as an identifier", () => {
        for (const schema of ['bad"name', "1abc", "a-b", "", "x".repeat(49), "a;drop"]) {
          assert.throws(
            () => new PostgresStore({ connectionString: db.connectionString, schema }),
            InvalidArgumentError,
            schema,
          );
        }
        assert.throws(() => new PostgresStore({}), InvalidArgumentError);
        const store = new PostgresStore({
          connectionString: db.connectionString,
          schema: "Mixed_Case_1",
        });
        assert.equal(store.channel, "Mixed_Case_1.changes");
      });

      it("ten stores opening one fresh schema at once migrate it exactly once", async () => {
        const schema = db.freshName();
        try {
          const stores = await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              openStore(`node-${i}`, { schema, maxConnections: 1 }),
            ),
          );
          const applied = stores.flatMap((store) => store.migrationsApplied);
          assert.deepEqual(
            applied.sort((a, b) => a - b),
            MIGRATIONS.map((m) => m.version),
          );
          assert.equal(stores.filter((store) => store.migrationsApplied.length > 0).length, 1);
          for (const store of stores) assert.equal(await store.schemaVersion(), LATEST_VERSION);
          const rows = await db.admin.query<{ version: number; applied_by: string }>(
            `select version, applied_by from "${schema}".migrations order by version`,
          );
          assert.deepEqual(
            rows.rows.map((row) => row.version),
            MIGRATIONS.map((m) => m.version),
          );
        } finally {
          await closeAll();
        }
      });

      it("gives each key to exactly one of four nodes, each on its own pool", async () => {
        try {
          const nodes = await Promise.all([0, 1, 2, 3].map((i) => openStore(`pool-node-${i}`)));
          const attempts: Promise<Claim | null>[] = [];
          for (let k = 0; k < 100; k++) {
            for (const [i, store] of nodes.entries()) {
              attempts.push(
                store.claimRun({
                  taskName: `pools-${k % 10}`,
                  scheduledAt: T + Math.floor(k / 10) * 1000,
                  nodeId: `pool-node-${i}`,
                  leaseMs: 30_000,
                }),
              );
            }
          }
          const won = (await Promise.all(attempts)).filter(
            (claim): claim is Claim => claim !== null,
          );
          assert.equal(won.length, 100);
          assert.equal(
            new Set(won.map((claim) => `${claim.taskName}@${claim.scheduledAt}`)).size,
            100,
          );
          const count = await db.admin.query<{ n: number }>(
            `select count(*)::int as n from "${db.name}".claims where task_name like 'pools-%'`,
          );
          assert.equal(count.rows[0]?.n, 100);
        } finally {
          await closeAll();
        }
      });

      it("claims overlapping keys in opposite orders from two nodes without deadlock, each key once", async () => {
        try {
          const [a, b] = await Promise.all([openStore("order-a"), openStore("order-b")]);
          assert.ok(a !== undefined && b !== undefined);
          const keys = Array.from({ length: 300 }, (_, k) => ({
            taskName: `order-${k % 7}`,
            scheduledAt: T + k * 1000,
          }));
          const claim = (store: PostgresStore, nodeId: string) => (key: (typeof keys)[number]) =>
            store.claimRun({ ...key, nodeId, leaseMs: 30_000 });
          // Not awaited one by one: each store combines these into multi-row statements.
          const results = await Promise.all([
            ...keys.map(claim(a, "order-a")),
            ...[...keys].reverse().map(claim(b, "order-b")),
          ]);
          const won = results.filter((c): c is Claim => c !== null);
          assert.equal(won.length, keys.length);
          assert.equal(new Set(won.map((c) => `${c.taskName}@${c.scheduledAt}`)).size, keys.length);
          await Promise.all(won.map((c) => (c.nodeId === "order-a" ? a : b).releaseClaim(c)));
          const held = await db.admin.query<{ n: number }>(
            `select count(*)::int as n from "${db.name}".claims where task_name like 'order-%' and released_at is null`,
          );
          assert.equal(held.rows[0]?.n, 0, "every claim released by its holder");
        } finally {
          await closeAll();
        }
      });

      it("writes statement parameters inline as literals that read back as sent (slot-locked statements)", async () => {
        const names = [
          "plain",
          "it's",
          'quo"te',
          "back\\slash",
          "{a,b}",
          "NULL",
          "ünï ☃",
          "",
          "a\\\"b'",
        ];
        const dates = names.map((_, i) => new Date(T + i * 1000 + 123));
        const text = inlineParameters(
          `select u.n, u.d, u.x, u.f, u.i from unnest($1::text[], $2::timestamptz[], $3::boolean[],
             $4::float8[], $5::integer[]) as u(n, d, x, f, i)`,
          [
            names,
            dates,
            names.map((_, i) => i % 2 === 0),
            names.map((_, i) => i * 1.5),
            names.map((_, i) => (i === 3 ? null : i)),
          ],
        );
        const { rows } = await db.admin.query(text);
        assert.deepEqual(
          rows,
          names.map((n, i) => ({
            n,
            d: dates[i],
            x: i % 2 === 0,
            f: i * 1.5,
            i: i === 3 ? null : i,
          })),
        );
      });

      it("tells each occurrence once when one node settles missed ranges while two others claim and settle inside them", async () => {
        try {
          const [a, b, c] = await Promise.all([
            openStore("slots-a"),
            openStore("slots-b"),
            openStore("slots-c"),
          ]);
          assert.ok(a !== undefined && b !== undefined && c !== undefined);
          const t0 = (await a.now()) - 120_000;
          const missed = (nodeId: string, taskName: string, first: number, last: number) =>
            runRecord(taskName, first, {
              startedAt: null,
              finishedAt: null,
              status: "missed",
              nodeId,
              ...(last > first
                ? { missedThrough: last, missedCount: (last - first) / 1000 + 1 }
                : {}),
            });
          // 40 rounds of 5 tasks: node a settles 0..4 s of each, b claims 2 s, c settles 3 s alone.
          for (let round = 0; round < 40; round++) {
            const tasks = Array.from({ length: 5 }, (_, i) => `slots-${round}-${i}`);
            await Promise.all([
              a.settleSlots(tasks.map((task) => missed("slots-a", task, t0, t0 + 4000))),
              ...tasks.map((task) =>
                b.claimRun({
                  taskName: task,
                  scheduledAt: t0 + 2000,
                  nodeId: "slots-b",
                  leaseMs: 30_000,
                }),
              ),
              c.settleSlots(tasks.map((task) => missed("slots-c", task, t0 + 3000, t0 + 3000))),
            ]);
          }
          // Each occurrence 0..4 s of a task: how many of the range, the claim and the single cover it.
          const told = await db.admin.query<{ task_name: string; at: number; n: number }>(
            `with k as (select task_name, scheduled_at as first_at, coalesce(missed_through, scheduled_at) as last_at
                 from "${db.name}".runs where task_name like 'slots-%'
               union all select task_name, scheduled_at, scheduled_at
                 from "${db.name}".claims where task_name like 'slots-%' and node_id = 'slots-b')
             select task_name, s.i as at, count(*)::int as n
             from k, generate_series(0, 4) s(i)
             where k.first_at <= $1::timestamptz + s.i * interval '1 s'
               and k.last_at >= $1::timestamptz + s.i * interval '1 s'
             group by task_name, s.i having count(*) > 1`,
            [new Date(t0)],
          );
          assert.deepEqual(told.rows, [], "occurrences told more than once");
        } finally {
          await closeAll();
        }
      });

      it("exclusive claims: one unreleased claim per task across nodes (overlap skip), then the next", async () => {
        try {
          const [a, b] = await Promise.all([openStore("excl-a"), openStore("excl-b")]);
          assert.ok(a !== undefined && b !== undefined);
          const request = (scheduledAt: number, nodeId: string) =>
            ({ taskName: "excl", scheduledAt, nodeId, leaseMs: 30_000, exclusive: true }) as const;
          const first = await a.claimRun(request(T, "excl-a"));
          assert.ok(first !== null);
          const racing = await Promise.all([
            b.claimRun(request(T + 1000, "excl-b")),
            a.claimRun(request(T + 2000, "excl-a")),
            b.claimRun({ ...request(T + 3000, "excl-b"), exclusive: false }),
          ]);
          assert.deepEqual(
            racing.map((claim) =>
              claim === null ? "refused" : claim.overlapping ? "overlapping" : "held",
            ),
            ["overlapping", "overlapping", "held"],
            "while the first one runs, exclusive claims own their slots but not the task",
          );
          await a.releaseClaim(first);
          const next = await Promise.all([
            b.claimRun(request(T + 4000, "excl-b")),
            a.claimRun(request(T + 4000, "excl-a")),
            a.claimRun(request(T + 5000, "excl-a")),
          ]);
          const held = next.filter((claim) => claim !== null && claim.overlapping !== true);
          assert.equal(held.length, 1, "one holds the task");
          assert.equal(
            next.filter((claim) => claim === null).length,
            1,
            "T + 4000 was claimed by exactly one of the two nodes",
          );
        } finally {
          await closeAll();
        }
      });

      it("keeps call order in history when concurrent records share one statement", async () => {
        try {
          const a = await openStore("order-history");
          const t0 = await a.now();
          const rows = Array.from({ length: 50 }, (_, i) => ({
            taskName: "batched",
            claimId: null,
            scheduledAt: t0 + i,
            startedAt: null,
            finishedAt: null,
            status: "missed" as const,
            attempt: 1,
            nodeId: "order-history",
            error: i % 10 === 0 ? { message: `m${i}`, code: "E" } : null,
          }));
          await Promise.all(rows.map((row) => a.recordRun(row)));
          assert.deepEqual(
            await a.history({ taskName: "batched", limit: 50 }),
            [...rows].reverse(),
          );
        } finally {
          await closeAll();
        }
      });

      it("lets another node reap an expired lease; the holder can no longer renew or claim it", async () => {
        try {
          const a = await openStore("lease-a");
          const b = await openStore("lease-b");
          const claim = await a.claimRun({
            taskName: "lease",
            scheduledAt: T,
            nodeId: "lease-a",
            leaseMs: 1000,
          });
          assert.ok(claim !== null && claim.leaseExpiresAt !== null);
          assert.equal(await a.renewLease(claim, 1000), true, "held and unexpired: renewed");
          const reaped = await waitFor("the lease to expire and be reaped by node b", async () => {
            const claims = await b.reapExpiredClaims({ nodeId: "lease-b", atStart: false });
            return claims.length > 0 ? claims : undefined;
          });
          assert.deepEqual(
            reaped.map((c) => [c.id, c.nodeId, c.scheduledAt]),
            [[claim.id, "lease-a", T]],
          );
          assert.ok((reaped[0]?.leaseExpiresAt ?? 0) <= (await b.now()));
          assert.equal(await a.renewLease(claim, 60_000), false, "expired and reaped: lost");
          assert.deepEqual(await b.reapExpiredClaims({ nodeId: "lease-b", atStart: false }), []);
          assert.equal(
            await b.claimRun({
              taskName: "lease",
              scheduledAt: T,
              nodeId: "lease-b",
              leaseMs: 1000,
            }),
            null,
            "the occurrence stays claimed: the reaper records it interrupted instead",
          );
        } finally {
          await closeAll();
        }
      });

      it("never revives an expired lease, even before it is reaped", async () => {
        try {
          const a = await openStore("expire-a");
          const claim = await a.claimRun({
            taskName: "expire",
            scheduledAt: T,
            nodeId: "expire-a",
            leaseMs: 1,
          });
          assert.ok(claim !== null && claim.leaseExpiresAt !== null);
          const expiry = claim.leaseExpiresAt;
          await waitFor(
            "the database clock to pass the lease",
            async () => (await a.now()) > expiry,
          );
          assert.equal(await a.renewLease(claim, 60_000), false);
          const reaped = await a.reapExpiredClaims({ nodeId: "expire-a", atStart: false });
          assert.ok(reaped.some((c) => c.id === claim.id));
        } finally {
          await closeAll();
        }
      });

      it("lets concurrent reapers share expired claims without returning one twice", async () => {
        try {
          const schema = db.freshName(); // no expired claims of other tests in it
          const nodes = await Promise.all(
            [0, 1, 2].map((i) => openStore(`reaper-${i}`, { schema })),
          );
          const holder = nodes[0] as PostgresStore;
          const claims: Claim[] = [];
          for (let k = 0; k < 60; k++) {
            const claim = await holder.claimRun({
              taskName: `reap-${k}`,
              scheduledAt: T,
              nodeId: "dead",
              leaseMs: 1,
            });
            assert.ok(claim !== null);
            claims.push(claim);
          }
          const last = Math.max(...claims.map((claim) => claim.leaseExpiresAt ?? 0));
          await waitFor("every lease to expire", async () => (await holder.now()) > last);
          const results = await Promise.all(
            nodes.map((store, i) =>
              store.reapExpiredClaims({ nodeId: `reaper-${i}`, atStart: false }),
            ),
          );
          const ids = results.flat().map((claim) => claim.id);
          assert.equal(ids.length, 60);
          assert.equal(new Set(ids).size, 60);
        } finally {
          await closeAll();
        }
      });

      it("LeaseKeeper renews at half the lease, then reports a lost lease as LeaseLostError", async () => {
        try {
          const a = await openStore("keeper-a");
          const claim = await a.claimRun({
            taskName: "kept",
            scheduledAt: T,
            nodeId: "keeper-a",
            leaseMs: 600,
          });
          assert.ok(claim !== null && claim.leaseExpiresAt !== null);
          const lost: LeaseLostError[] = [];
          const keeper = new LeaseKeeper({
            store: a,
            leaseMs: 600,
            onLost: (_claim, error) => lost.push(error),
          });
          keeper.hold(claim);
          try {
            const leaseOf = async () =>
              (
                await db.admin.query<{ lease: Date }>(
                  `select lease_expires_at as lease from "${db.name}".claims where id = $1`,
                  [claim.id],
                )
              ).rows[0]?.lease.getTime() ?? 0;
            const first = claim.leaseExpiresAt;
            // Renewals push the lease well past its first expiry: it was kept alive.
            await waitFor(
              "the lease to be renewed well past its first expiry",
              async () => (await leaseOf()) > first + 900,
            );
            const reaped = await a.reapExpiredClaims({ nodeId: "keeper-b", atStart: false });
            assert.ok(!reaped.some((c) => c.id === claim.id), "a kept lease is not reaped");
            assert.equal(lost.length, 0);
            // Someone else takes it (as a reaper would): the next renewal fails and the keeper reports it.
            await db.admin.query(
              `update "${db.name}".claims set released_at = now() where id = $1`,
              [claim.id],
            );
            await waitFor("the keeper to report the lost lease", () => lost.length > 0);
            assert.ok(lost[0] instanceof LeaseLostError);
            assert.equal(lost[0].code, "ERR_LEASE_LOST");
            assert.equal(keeper.holds(claim), false);
          } finally {
            keeper.stop();
          }
        } finally {
          await closeAll();
        }
      });

      it("delivers changes to another store's watch(), not to the store that made them", async () => {
        try {
          const a = await openStore("notify-a");
          const b = await openStore("notify-b");
          const seenByA: StoreChange[] = [];
          const seenByB: StoreChange[] = [];
          const stopA = a.watch((change) => seenByA.push(change));
          const stopB = b.watch((change) => seenByB.push(change));
          await Promise.all([a.whenListening(), b.whenListening()]);
          await a.putTask(taskRecord("watched"), { replace: false });
          const progress = {
            state: "active",
            nextRunAt: T,
            lastRunAt: T - 1000,
            lastStatus: "succeeded",
            runCount: 1,
          } as const;
          await a.updateTaskProgress("watched", progress); // a run finished: no notification
          await a.updateTaskProgress("watched", { ...progress, state: "paused" }); // paused: upsert
          await a.notify({ kind: "trigger", taskName: "watched" });
          await a.deleteTask("watched");
          await waitFor("node b to see the delete", () =>
            seenByB.some((change) => change.kind === "delete"),
          );
          assert.deepEqual(seenByB, [
            { kind: "upsert", taskName: "watched" },
            { kind: "upsert", taskName: "watched" },
            { kind: "trigger", taskName: "watched" },
            { kind: "delete", taskName: "watched" },
          ]);
          await b.putTask(taskRecord("from-b"), { replace: false });
          await waitFor("node a to see node b's task", () => seenByA.length > 0);
          assert.deepEqual(seenByA, [{ kind: "upsert", taskName: "from-b" }]);
          stopA();
          stopB();
        } finally {
          await closeAll();
        }
      });

      it("does not notify for a write that did not happen (a refused duplicate)", async () => {
        try {
          const a = await openStore("dup-a");
          const b = await openStore("dup-b");
          const seen: StoreChange[] = [];
          b.watch((change) => seen.push(change));
          await b.whenListening();
          await a.putTask(taskRecord("dup-n"), { replace: false });
          await assert.rejects(a.putTask(taskRecord("dup-n"), { replace: false }));
          await a.deleteTask("dup-n");
          await waitFor("the delete", () => seen.some((change) => change.kind === "delete"));
          assert.deepEqual(
            seen.map((change) => change.kind),
            ["upsert", "delete"],
          );
        } finally {
          await closeAll();
        }
      });

      it("recovers from terminated connections: operations work again and the notifier re-subscribes", async () => {
        try {
          const appName = `orch-loss-${randomBytes(4).toString("hex")}`;
          const listening: boolean[] = [];
          const a = await openStore("loss-a", {
            connectionString: `${db.connectionString}?application_name=${appName}`,
            onListening: (resubscribed) => listening.push(resubscribed),
          });
          const b = await openStore("loss-b");
          const seen: StoreChange[] = [];
          a.watch((change) => seen.push(change));
          await a.whenListening();
          assert.equal(a.subscriptions, 1);
          // Warm the pool so that idle connections die too, not only the listener.
          await Promise.all(Array.from({ length: 4 }, () => a.now()));
          const killed = await db.admin.query<{ ok: boolean }>(
            "select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1",
            [appName],
          );
          assert.ok(killed.rows.length >= 2, `terminated ${killed.rows.length} backends`);
          const errors: unknown[] = [];
          await waitFor("a claim to succeed again", async () => {
            try {
              return await a.claimRun({
                taskName: "loss",
                scheduledAt: T,
                nodeId: "loss-a",
                leaseMs: 30_000,
              });
            } catch (error) {
              errors.push(error);
              return null;
            }
          });
          for (const error of errors) {
            assert.ok(error instanceof StoreError, String(error));
            assert.ok(error.cause instanceof Error, "the pg error is the cause");
          }
          await waitFor("the notifier to re-subscribe", () => a.subscriptions >= 2 && a.listening);
          assert.deepEqual(listening.slice(0, 2), [false, true], "told of the re-subscription");
          await b.putTask(taskRecord("after-loss"), { replace: false });
          await waitFor("a change after the reconnection", () =>
            seen.some((change) => change.taskName === "after-loss"),
          );
          assert.equal(
            await a.claimRun({ taskName: "loss", scheduledAt: T, nodeId: "loss-a", leaseMs: 1 }),
            null,
          );
        } finally {
          await closeAll();
        }
      });

      it("loses and duplicates no claim when its connections are terminated mid-claiming", async (t) => {
        try {
          const appName = `orch-inflight-${randomBytes(4).toString("hex")}`;
          const a = await openStore("inflight-a", {
            connectionString: `${db.connectionString}?application_name=${appName}`,
          });
          const keys = Array.from({ length: 400 }, (_, k) => `inflight-${k}`);
          const outcome = new Map<string, Claim | null | StoreError>();
          let next = 0;
          let terminated = false;
          const loop = async () => {
            while (next < keys.length) {
              const taskName = keys[next++] as string;
              try {
                outcome.set(
                  taskName,
                  await a.claimRun({
                    taskName,
                    scheduledAt: T,
                    nodeId: "inflight-a",
                    leaseMs: 60_000,
                  }),
                );
              } catch (error) {
                assert.ok(
                  error instanceof StoreError && error.cause instanceof Error,
                  String(error),
                );
                outcome.set(taskName, error);
              }
              if (!terminated && outcome.size >= 100) {
                terminated = true;
                await db.admin.query(
                  "select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1",
                  [appName],
                );
              }
            }
          };
          await Promise.all(Array.from({ length: 8 }, loop));
          const failed = [...outcome.values()].filter(
            (result) => result instanceof StoreError,
          ).length;
          // Retry what failed: a claim whose commit was lost with the connection stays taken (null).
          for (const [taskName, result] of outcome) {
            if (!(result instanceof StoreError)) continue;
            const retried = await waitFor(`a retry of ${taskName}`, async () => {
              try {
                return {
                  claim: await a.claimRun({
                    taskName,
                    scheduledAt: T,
                    nodeId: "inflight-a",
                    leaseMs: 60_000,
                  }),
                };
              } catch {
                return undefined;
              }
            });
            outcome.set(taskName, retried.claim);
          }
          const rows = await db.admin.query<{ task_name: string; id: string; n: number }>(
            `select task_name, min(id) as id, count(*)::int as n from "${db.name}".claims
             where task_name like 'inflight-%' group by task_name`,
          );
          assert.equal(rows.rows.length, keys.length, "every key claimed");
          const ambiguous: string[] = [];
          for (const row of rows.rows) {
            assert.equal(row.n, 1, `${row.task_name} claimed once`);
            const result = outcome.get(row.task_name);
            if (result === null) ambiguous.push(row.task_name);
            else
              assert.equal(
                (result as Claim).id,
                row.id,
                `${row.task_name}: the caller holds the claim`,
              );
          }
          t.diagnostic(
            `${failed} claims failed with their connection; ${ambiguous.length} of them had committed`,
          );
          // A claim committed while its caller saw an error is not lost: it is reaped like a dead node's.
          const reaped = await a.reapExpiredClaims({ nodeId: "inflight-a", atStart: true });
          const reapedNames = new Set(reaped.map((claim) => claim.taskName));
          for (const name of ambiguous) assert.ok(reapedNames.has(name), `${name} is reapable`);
        } finally {
          await closeAll();
        }
      });

      it("raises StoreError with the driver's error as cause when the server is unreachable", async () => {
        const store = new PostgresStore({
          connectionString: "postgres://postgres@127.0.0.1:1/test",
        });
        try {
          await assert.rejects(
            store.open({ nodeId: "nowhere", clock: new SystemClock() }),
            (error: unknown) => {
              assert.ok(error instanceof StoreError);
              assert.equal(error.code, "ERR_STORE");
              assert.ok(error.cause instanceof Error);
              return true;
            },
          );
          await assert.rejects(store.now(), StoreError);
        } finally {
          await store.close();
        }
      });

      it("reads time from the database clock and measures this node's skew against it", async () => {
        try {
          const clock = new ManualClock("2001-01-01T00:00:00Z");
          const store = new PostgresStore({
            connectionString: db.connectionString,
            schema: db.name,
            maxConnections: 2,
          });
          opened.push(store);
          await store.open({ nodeId: "skew", clock });
          const dbNow = await store.now();
          assert.ok(
            dbNow > Date.UTC(2020, 0, 1),
            "the store's now() is the database's, not the node's clock",
          );
          const skew = await store.measureClockSkew();
          assert.ok(Number.isFinite(skew.skewMs) && Number.isFinite(skew.roundTripMs));
          // The ManualClock is decades behind the database: the skew says so, in the right direction.
          assert.ok(skew.skewMs > 365 * 24 * 3_600_000);
        } finally {
          await closeAll();
        }
      });

      it("migrates to a schema that matches the snapshot (drift check)", async () => {
        try {
          const store = await openStore("drift");
          const actual = await describeSchema(db, store.schema);
          if (process.env.UPDATE_SNAPSHOTS === "1") writeFileSync(SNAPSHOT, actual);
          let expected: string;
          try {
            expected = readFileSync(SNAPSHOT, "utf8");
          } catch {
            throw new Error(
              `No schema snapshot: run with UPDATE_SNAPSHOTS=1 to write ${SNAPSHOT.pathname}`,
            );
          }
          assert.equal(
            actual,
            expected,
            "the migrated schema drifted: update the migration or the snapshot (UPDATE_SNAPSHOTS=1)",
          );
        } finally {
          await closeAll();
        }
      });
    });
  });
}

/** The shape of a migrated schema as text, with the schema name replaced by `<schema>`. */
async function describeSchema(db: TestSchema, schema: string): Promise<string> {
  const lines: string[] = [];
  const columns = await db.admin.query<Record<string, string>>(
    `select table_name, column_name, data_type, is_nullable, coalesce(column_default, '') as column_default,
       is_identity
     from information_schema.columns where table_schema = $1
     order by table_name, ordinal_position`,
    [schema],
  );
  for (const c of columns.rows) {
    lines.push(
      `column ${c.table_name}.${c.column_name} ${c.data_type}${c.is_nullable === "NO" ? " not null" : ""}` +
        `${c.column_default ? ` default ${c.column_default}` : ""}${c.is_identity === "YES" ? " identity" : ""}`,
    );
  }
  const constraints = await db.admin.query<Record<string, string>>(
    `select conrelid::regclass::text as table_name, conname, pg_get_constraintdef(oid) as def
     from pg_constraint where connamespace = $1::regnamespace order by 1, 2`,
    [schema],
  );
  for (const c of constraints.rows) lines.push(`constraint ${c.table_name} ${c.conname} ${c.def}`);
  const indexes = await db.admin.query<Record<string, string>>(
    `select indexname, indexdef from pg_indexes where schemaname = $1 order by indexname`,
    [schema],
  );
  for (const i of indexes.rows) lines.push(`index ${i.indexname}: ${i.indexdef}`);
  // The history's dated partitions (runs_pYYYYMMDDHH) change with the day: left out.
  const stable = lines.filter((line) => !/runs_p\d{10}/.test(line));
  return `${stable.join("\n").replaceAll(`"${schema}".`, "<schema>.").replaceAll(`${schema}.`, "<schema>.")}\n`;
}
