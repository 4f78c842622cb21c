/**
 * Two daemons on one PostgreSQL schema run the same flaky task, one after
 * the other (the nodes share the work: the task moves to node b when node a
 * stops): the failure and the recovery are each delivered once, not once per
 * node, though both nodes ran failing runs; the outbox holds one row per
 * change and channel.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PostgresStore } from "../../../src/store/postgres/postgres-store.js";
import { SystemClock } from "../../../src/time/clock.js";
import { requirePg, waitFor, withTestSchema } from "../../helpers/pg.js";
import { cli, DaemonProcess, tempDirs } from "../daemon-process.js";
import { startHookReceiver } from "./receivers.js";

const tempDir = tempDirs("orchestrator-notify-cluster");

const SCHEDULE = `tasks:
  - name: flaky
    every: 1s
    command: "test -e failing && exit 3; exit 0"
    shell: true
    notify:
      webhook:
        url: "\${HOOK_URL}/hook"
`;

if (await requirePg("notifications in a cluster")) {
  describe("notifications in a cluster", () => {
    const schema = withTestSchema("orch_notify");

    it("two daemons on one schema deliver each change of state once", async (t) => {
      const dir = tempDir();
      const hook = await startHookReceiver();
      t.after(() => hook.close());
      writeFileSync(join(dir, "schedule.yaml"), SCHEDULE);
      writeFileSync(join(dir, "failing"), "");
      const key = cli(["keys", "generate"], { cwd: dir }).stdout.trim();
      const url = `${schema.connectionString}?schema=${schema.name}`;
      const env = { HOOK_URL: hook.url, ORCHESTRATOR_ENCRYPTION_KEY: key };
      const daemon = (id: string): DaemonProcess => {
        const node = new DaemonProcess(["schedule.yaml", "--store", url, "--node-id", id], {
          cwd: dir,
          env,
        });
        t.after(() => node.dispose());
        return node;
      };

      const store = new PostgresStore({
        connectionString: schema.connectionString,
        schema: schema.name,
      });
      await store.open({ nodeId: "reader", clock: new SystemClock() });
      t.after(() => store.close());
      const ranOn = async (status: string): Promise<Set<string>> =>
        new Set(
          (await store.history({ taskName: "flaky", limit: 200 }))
            .filter((row) => row.status === status)
            .map((row) => row.nodeId),
        );
      // The nodes share the work: one task runs on its owner. So node a fails it
      // alone first, then hands it over to node b by stopping; b's failures are the
      // same failure, already announced.
      const a = daemon("a");
      await a.waitFor(/orchestrator running/);
      await waitFor("failed runs on node a", async () => (await ranOn("failed")).has("a"), {
        timeoutMs: 30_000,
      });
      const b = daemon("b");
      await b.waitFor(/orchestrator running/);
      a.kill("SIGTERM");
      assert.equal((await a.exited).code, 0, a.output);
      await waitFor("failed runs on node b", async () => (await ranOn("failed")).has("b"), {
        timeoutMs: 30_000,
      });
      rmSync(join(dir, "failing"));
      await waitFor(
        "the recovery webhook",
        () => hook.hooks.some((h) => h.body.event === "recovery"),
        {
          timeoutMs: 30_000,
        },
      );
      await waitFor("successful runs on node b", async () => (await ranOn("succeeded")).has("b"), {
        timeoutMs: 30_000,
      });
      b.kill("SIGTERM");
      assert.equal((await b.exited).code, 0, b.output);

      assert.deepEqual(
        hook.hooks.map((h) => h.body.event),
        ["failure", "recovery"],
      );
      const rows = await store.notifications.list();
      assert.deepEqual(rows.map((r) => [r.kind, r.status, r.attempts]).sort(), [
        ["failure", "sent", 1],
        ["recovery", "sent", 1],
      ]);
    });
  });
}
