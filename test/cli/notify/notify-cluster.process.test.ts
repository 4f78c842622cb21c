/**
 * Two daemons on one PostgreSQL schema run the same flaky task (each run on
 * one node): the failure and the recovery are each delivered once, not once
 * per node, though both nodes ran failing runs; the outbox holds one row per
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
      const nodes = ["a", "b"].map((id) => {
        const daemon = new DaemonProcess(["schedule.yaml", "--store", url, "--node-id", id], {
          cwd: dir,
          env,
        });
        t.after(() => daemon.dispose());
        return daemon;
      });
      for (const node of nodes) await node.waitFor(/orchestrator running/);

      const store = new PostgresStore({
        connectionString: schema.connectionString,
        schema: schema.name,
      });
      await store.open({ nodeId: "reader", clock: new SystemClock() });
      t.after(() => store.close());
      const failedOn = async (): Promise<Set<string>> =>
        new Set(
          (await store.history({ taskName: "flaky", limit: 200 }))
            .filter((row) => row.status === "failed")
            .map((row) => row.nodeId),
        );
      await waitFor("failed runs on both nodes", async () => (await failedOn()).size === 2, {
        timeoutMs: 60_000,
      });
      rmSync(join(dir, "failing"));
      await waitFor(
        "the recovery webhook",
        () => hook.hooks.some((h) => h.body.event === "recovery"),
        {
          timeoutMs: 30_000,
        },
      );
      const succeededOn = async (): Promise<number> =>
        new Set(
          (await store.history({ taskName: "flaky", limit: 200 }))
            .filter((row) => row.status === "succeeded")
            .map((row) => row.nodeId),
        ).size;
      await waitFor("successful runs on both nodes", async () => (await succeededOn()) === 2, {
        timeoutMs: 60_000,
      });
      for (const node of nodes) node.kill("SIGTERM");
      for (const node of nodes) assert.equal((await node.exited).code, 0, node.output);

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
