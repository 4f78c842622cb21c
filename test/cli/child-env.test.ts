/** What a command's process gets of the daemon's environment, and the variables about its run. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inheritedEnv, runVariables } from "../../src/cli/child-env.js";

const RUN = {
  taskName: "nightly-backup",
  scheduledAt: new Date("2030-01-02T03:04:05.000Z"),
  attempt: 2,
  fencingToken: 4711,
  nodeId: "host-a:orchestrator.db",
};

describe("runVariables", () => {
  it("names the task, the scheduled instant (ISO, UTC), the attempt, the fencing token and the node", () => {
    assert.deepEqual(runVariables(RUN), {
      ORCHESTRATOR_TASK_NAME: "nightly-backup",
      ORCHESTRATOR_SCHEDULED_AT: "2030-01-02T03:04:05.000Z",
      ORCHESTRATOR_ATTEMPT: "2",
      ORCHESTRATOR_FENCING_TOKEN: "4711",
      ORCHESTRATOR_NODE_ID: "host-a:orchestrator.db",
    });
  });

  it("are not taken from the daemon's environment, and its secrets stay out", () => {
    const inherited = inheritedEnv({
      PATH: "/usr/bin",
      ORCHESTRATOR_TOKEN: "admin-secret",
      ORCHESTRATOR_ENCRYPTION_KEY: "key",
      // Names a variable of the run: a daemon started by another daemon has them.
      ORCHESTRATOR_FENCING_TOKEN: "1",
      ORCHESTRATOR_TASK_NAME: "outer",
    });
    const env = { ...inherited, ...runVariables(RUN) };
    assert.equal(env.ORCHESTRATOR_TOKEN, undefined);
    assert.equal(env.ORCHESTRATOR_ENCRYPTION_KEY, undefined);
    assert.equal(env.PATH, "/usr/bin");
    assert.equal(env.ORCHESTRATOR_FENCING_TOKEN, "4711");
    assert.equal(env.ORCHESTRATOR_TASK_NAME, "nightly-backup");
  });
});
