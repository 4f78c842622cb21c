import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ActionFailedError } from "../../src/errors.js";
import { LIST_TAIL_CHARS, type RunView } from "../../src/http/run-view.js";
import { startHarness, type Harness } from "./helpers.js";

interface HistoryBody {
  runs: RunView[];
  offset: number;
  limit: number;
  more: boolean;
}

describe("http API: run output, history pages and cancel", () => {
  let h: Harness;
  let failNext = false;
  let releaseLong = (): void => {};
  let longStarted: Promise<void> = Promise.resolve();
  const longOutput = `${"x".repeat(10_000)}THE END\n`;
  before(async () => {
    h = await startHarness(async (scheduler) => {
      // Shaped as a command task's outcome: { exitCode, stdout, stderr } in the error's details.
      await scheduler.registerTask("cmd", "0 0 1 1 *", () => {
        if (!failNext) return { exitCode: 0, stdout: longOutput, stderr: "" };
        throw new ActionFailedError("exit", "cmd exited with code 3", {
          exitCode: 3,
          stdout: "partial\n",
          stderr: "\u001b[31mboom\u001b[0m\n",
        });
      });
      await scheduler.registerTask("web", "0 0 1 1 *", () => ({ status: 204, body: "" }));
      await scheduler.registerTask("long", "0 0 1 1 *", (ctx) => {
        releaseLong();
        return new Promise<void>((_, reject) => {
          ctx.signal.addEventListener("abort", () => reject(new Error("stopped")));
        });
      });
    });
  });
  after(() => h.close());

  const history = async (query: string): Promise<HistoryBody> => {
    const response = await h.bearer(`/api/tasks/cmd/history?${query}`);
    assert.equal(response.status, 200);
    return (await response.json()) as HistoryBody;
  };

  it("lists runs with output tails and truncated, and gives one run whole", async () => {
    await h.bearer("/api/tasks/cmd/trigger?wait=1", { method: "POST" });
    const { runs } = await history("limit=1");
    const run = runs[0] as RunView;
    assert.equal(run.exitCode, 0);
    assert.equal(run.httpStatus, null);
    assert.equal(run.truncated, true);
    assert.equal(run.stdout?.length, LIST_TAIL_CHARS);
    assert.ok(run.stdout?.endsWith("THE END\n"));
    assert.equal((run.output as { stdout: string }).stdout, run.stdout);
    const whole = await h.bearer(`/api/tasks/cmd/runs/${run.id}`);
    assert.equal(whole.status, 200);
    const { run: full } = (await whole.json()) as { run: RunView };
    assert.equal(full.stdout, longOutput);
    assert.equal(full.truncated, false);
    assert.deepEqual(
      { ...full, stdout: null, output: null, truncated: true },
      {
        ...run,
        stdout: null,
        output: null,
      },
    );
    const none = await history("limit=1&output=none");
    assert.equal(none.runs[0]?.stdout, null);
    assert.equal(none.runs[0]?.output, null);
    assert.equal((await history("limit=1&output=full")).runs[0]?.stdout, longOutput);
  });

  it("shows an HTTP action's status, and a failed command's exit code, stderr and error", async () => {
    await h.bearer("/api/tasks/web/trigger?wait=1", { method: "POST" });
    const web = (await (await h.bearer("/api/tasks/web/history")).json()) as HistoryBody;
    assert.equal(web.runs[0]?.httpStatus, 204);
    assert.equal(web.runs[0]?.exitCode, null);
    failNext = true;
    await h.bearer("/api/tasks/cmd/trigger?wait=1", { method: "POST" });
    failNext = false;
    const run = (await history("limit=1")).runs[0] as RunView;
    assert.equal(run.status, "failed");
    assert.equal(run.exitCode, 3);
    assert.equal(run.stderr, "\u001b[31mboom\u001b[0m\n");
    assert.equal(run.error?.code, "ERR_ACTION_FAILED");
    assert.match(run.error?.stack ?? "", /ActionFailedError/);
    assert.equal(run.truncated, false);
  });

  it("pages with offset and more, and filters by status", async () => {
    // Runs so far, newest first: failed, succeeded. Two more: succeeded, succeeded.
    await h.bearer("/api/tasks/cmd/trigger?wait=1", { method: "POST" });
    await h.bearer("/api/tasks/cmd/trigger?wait=1", { method: "POST" });
    const first = await history("limit=2&output=none");
    assert.deepEqual(
      first.runs.map((run) => run.status),
      ["succeeded", "succeeded"],
    );
    assert.equal(first.more, true);
    const second = await history("limit=2&offset=2&output=none");
    assert.deepEqual(
      second.runs.map((run) => run.status),
      ["failed", "succeeded"],
    );
    assert.equal(second.more, false);
    assert.equal(second.offset, 2);
    const failed = await history("status=failed,cancelled");
    assert.deepEqual(
      failed.runs.map((run) => run.status),
      ["failed"],
    );
    assert.equal(failed.more, false);
  });

  it("answers 400 to malformed history parameters and run ids, 404 to unknown runs", async () => {
    for (const query of ["status=broke", "offset=-1", "offset=x", "output=some", "limit=0"]) {
      const response = await h.bearer(`/api/tasks/cmd/history?${query}`);
      assert.equal(response.status, 400, query);
    }
    const bad = await h.bearer("/api/tasks/cmd/history?status=failed,broke");
    assert.match(
      ((await bad.json()) as { message: string }).message,
      /status: unknown status "broke"; expected one or more \(comma-separated\) of succeeded, failed, timed-out, cancelled/,
    );
    assert.equal((await h.bearer("/api/tasks/cmd/runs/abc")).status, 400);
    assert.equal((await h.bearer("/api/tasks/cmd/runs/1-1")).status, 404);
    assert.equal((await h.bearer("/api/tasks/nope/runs/1-1")).status, 404);
    assert.equal((await h.bearer("/api/tasks/cmd/runs/1-1", { method: "POST" })).status, 405);
  });

  it("cancels a running run, records it cancelled, and audits the cancel", async () => {
    longStarted = new Promise<void>((resolve) => (releaseLong = resolve));
    const trigger = h.bearer("/api/tasks/long/trigger?wait=1", { method: "POST" });
    await longStarted;
    const response = await h.bearer("/api/tasks/long/cancel", { method: "POST" });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { cancelled: 1 });
    await trigger;
    const runs = (await (await h.bearer("/api/tasks/long/history")).json()) as HistoryBody;
    assert.equal(runs.runs[0]?.status, "cancelled");
    assert.equal(runs.runs[0]?.error?.message, "stopped");
    const again = await h.bearer("/api/tasks/long/cancel", { method: "POST" });
    assert.deepEqual(await again.json(), { cancelled: 0 });
    const audit = (await (await h.bearer("/api/tasks/long/audit")).json()) as {
      entries: { action: string; result: string; detail: string | null }[];
    };
    assert.deepEqual(
      audit.entries
        .filter((entry) => entry.action === "cancel")
        .map((entry) => [entry.result, entry.detail]),
      [
        ["ok", "nothing was running"],
        ["ok", "1 run(s) cancelled"],
      ],
    );
    assert.equal((await h.bearer("/api/tasks/nope/cancel", { method: "POST" })).status, 404);
    assert.equal((await h.bearer("/api/tasks/long/cancel")).status, 405);
  });
});
