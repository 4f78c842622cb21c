import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { RunView } from "../../src/http/run-view.js";
import type { TaskView } from "../../src/http/task-view.js";
import { cli, DaemonProcess } from "./daemon-process.js";

// Issue 14, item 6: `orchestrator history --json` and `list --json` print the
// JSON API's run and task views: one shape, the same values for the same row.

const SCHEDULE = `tasks:
  - name: ok
    every: 1h
    command: ["sh", "-c", "echo hello; echo careful >&2"]
  - name: bad
    every: 1h
    command: ["sh", "-c", "echo oops >&2; exit 3"]
`;

describe("the CLI's JSON and the API's views of one SQLite store", () => {
  it("history --json equals the API's history, and list --json its task views", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "orchestrator-json-views-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "schedule.yaml"), SCHEDULE);
    const token = "json-views-token-5a7c";
    const daemon = new DaemonProcess(["schedule.yaml", "--http", "127.0.0.1:0"], {
      cwd: dir,
      env: { ORCHESTRATOR_TOKEN: token },
    });
    t.after(() => daemon.dispose());
    const listening = await daemon.waitFor(/dashboard listening/);
    const url = /url=(\S+)/.exec(listening.line)?.[1] ?? assert.fail(listening.line);
    const api = async <T>(path: string, method = "GET"): Promise<T> => {
      const send = (): Promise<Response> =>
        fetch(new URL(path, url), { method, headers: { Authorization: `Bearer ${token}` } });
      // The CLI runs synchronously (spawnSync), long enough on a loaded machine for the
      // server to close an idle keep-alive socket that fetch then reuses: a GET is sent again.
      const response = await send().catch((error: unknown) => {
        if (method !== "GET") throw error;
        return send();
      });
      assert.ok(response.ok, `${method} ${path}: ${response.status}`);
      return (await response.json()) as T;
    };

    for (const name of ["ok", "bad"]) await api(`/api/tasks/${name}/trigger?wait=1`, "POST");

    const history = cli(["history", "--json", "--limit", "50"], { cwd: dir });
    assert.equal(history.code, 0, history.stderr);
    const cliRuns = JSON.parse(history.stdout) as RunView[];
    for (const name of ["ok", "bad"]) {
      const { runs } = await api<{ runs: RunView[] }>(`/api/tasks/${name}/history?limit=50`);
      assert.ok(runs.length > 0, name);
      assert.deepEqual(
        cliRuns.filter((run) => run.taskName === name),
        runs,
      );
    }
    // What the rows hold: the output of each run, the error of the failed one with its code.
    const [ok] = cliRuns.filter((run) => run.taskName === "ok");
    assert.equal(ok?.status, "succeeded");
    assert.equal(ok?.error, null);
    assert.deepEqual(
      [(ok?.output as { stdout?: string }).stdout, (ok?.output as { stderr?: string }).stderr],
      ["hello\n", "careful\n"],
    );
    const [bad] = cliRuns.filter((run) => run.taskName === "bad");
    assert.equal(bad?.status, "failed");
    assert.equal(bad?.error?.code, "ERR_ACTION_FAILED");
    assert.equal(typeof bad?.error?.stack, "string");
    assert.equal((bad?.output as { exitCode?: number }).exitCode, 3);
    assert.deepEqual(
      [bad?.exitCode, ok?.exitCode, ok?.stdout, ok?.truncated],
      [3, 0, "hello\n", false],
    );
    const failedOnly = cli(["history", "bad", "--json", "--status", "failed", "--offset", "0"], {
      cwd: dir,
    });
    assert.equal(failedOnly.code, 0, failedOnly.stderr);
    assert.deepEqual(
      (JSON.parse(failedOnly.stdout) as RunView[]).map((run) => run.status),
      ["failed"],
    );
    const badStatus = cli(["history", "bad", "--status", "broke"], { cwd: dir });
    assert.equal(badStatus.code, 2);
    assert.match(badStatus.stderr, /--status: unknown status "broke"/);

    const list = cli(["list", "--json"], { cwd: dir });
    assert.equal(list.code, 0, list.stderr);
    const cliTasks = JSON.parse(list.stdout) as TaskView[];
    const { tasks } = await api<{ tasks: TaskView[] }>("/api/tasks");
    assert.equal(cliTasks.length, 2);
    for (const task of cliTasks) {
      // The one key the CLI cannot know: whether a run is in flight in the daemon (none is).
      assert.equal(task.running, null);
      assert.deepEqual(
        { ...task, running: false },
        tasks.find((apiTask) => apiTask.name === task.name),
      );
      assert.equal(task.fromScheduleFile, true);
      assert.equal(task.checked, true);
      assert.equal(task.recentDurationsMs.length, 1);
    }

    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
  });
});
