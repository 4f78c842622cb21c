import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RunView } from "../../src/http/run-view.js";
import type { TaskView } from "../../src/http/task-view.js";
import { describeTask } from "../../src/http/task-view.js";
import { parseCron } from "../../src/cron/index.js";
import { SseReader, startHarness, type Harness } from "./helpers.js";

describe("http JSON API", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(async (scheduler) => {
      await scheduler.registerTask("backup", "30 2 * * 1-5", () => ({ copied: 3 }), {
        timezone: "Europe/Berlin",
        payload: { password: "hunter2" },
      });
      await scheduler.registerTask("poll", { every: "5m" }, () => {});
      await scheduler.registerTask("broken", "0 * * * *", () => {
        throw new Error("disk full\nat line 2");
      });
      await scheduler.registerTask("odd/name é", "*/10 * * * *", () => {});
    });
  });
  after(() => h.close());

  it("lists tasks with the schedule in words, zone, next run, state and no payload", async () => {
    const response = await h.bearer("/api/tasks");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "no-store");
    const body = (await response.json()) as { tasks: TaskView[]; total: number };
    assert.equal(body.total, 4);
    const backup = body.tasks.find((t) => t.name === "backup");
    assert.deepEqual(backup, {
      name: "backup",
      kind: "cron",
      schedule: "30 2 * * 1-5",
      description: parseCron("30 2 * * 1-5").describe(),
      timezone: "Europe/Berlin",
      state: "active",
      quarantineReason: null,
      checked: true,
      // The server was given no way to tell tasks from a schedule file.
      fromScheduleFile: null,
      running: false,
      nextRun: "2026-03-02T01:30:00.000Z",
      lastRun: null,
      lastStatus: null,
      runCount: 0,
      overlap: "skip",
      misfire: "run-once",
      recentDurationsMs: [],
    } satisfies TaskView);
    assert.doesNotMatch(JSON.stringify(body), /hunter2|payload/);
    assert.equal(body.tasks.find((t) => t.name === "poll")?.description, "Every 5m");
  });

  it("pages the task list", async () => {
    const body = (await (await h.bearer("/api/tasks?limit=2&offset=1")).json()) as {
      tasks: TaskView[];
      total: number;
    };
    assert.equal(body.total, 4);
    assert.deepEqual(
      body.tasks.map((t) => t.name),
      ["poll", "broken"],
    );
    assert.equal((await h.bearer("/api/tasks?limit=-1")).status, 400);
  });

  it("filters the task list by name, state and last status, and pages the matches", async () => {
    type ListBody = { tasks: TaskView[]; total: number; matched: number };
    const list = async (query: string) =>
      (await (await h.bearer(`/api/tasks?${query}`)).json()) as ListBody;
    const byName = await list("q=O");
    assert.deepEqual(
      byName.tasks.map((t) => t.name),
      ["poll", "broken", "odd/name é"],
    );
    assert.equal(byName.total, 4);
    assert.equal(byName.matched, 3);
    const paged = await list("q=o&limit=1&offset=1");
    assert.deepEqual(
      paged.tasks.map((t) => t.name),
      ["broken"],
    );
    assert.equal(paged.matched, 3);
    assert.equal((await list("state=paused")).matched, 0);
    assert.equal((await list("state=active,paused&status=none")).matched, 4);
    assert.equal((await list("status=failed")).matched, 0);

    const bad = await h.bearer("/api/tasks?status=broke");
    assert.equal(bad.status, 400);
    assert.match(
      ((await bad.json()) as { message: string }).message,
      /status must be a comma-separated list of succeeded, failed.*none; got "broke"/,
    );
    assert.equal((await h.bearer(`/api/tasks?q=${"x".repeat(201)}`)).status, 400);
    assert.equal((await h.bearer("/api/tasks?state=running")).status, 400);
  });

  it("shows one task, with names encoded in the path", async () => {
    const response = await h.bearer(`/api/tasks/${encodeURIComponent("odd/name é")}`);
    assert.equal(response.status, 200);
    const { task } = (await response.json()) as { task: TaskView };
    assert.equal(task.name, "odd/name é");
    assert.equal(task.description, parseCron("*/10 * * * *").describe());
    assert.equal((await h.bearer("/api/tasks/nope")).status, 404);
    assert.equal((await h.bearer("/api/tasks/%E0%A4%A")).status, 400);
  });

  it("triggers and waits with ?wait=1, then shows the run in the history", async () => {
    const response = await h.bearer("/api/tasks/backup/trigger?wait=1", { method: "POST" });
    assert.equal(response.status, 200);
    const { report } = (await response.json()) as { report: { ran: number; succeeded: number } };
    assert.equal(report.ran, 1);
    assert.equal(report.succeeded, 1);
    const history = (await (await h.bearer("/api/tasks/backup/history")).json()) as {
      runs: RunView[];
    };
    assert.deepEqual(history.runs, [
      {
        id: `${Date.parse("2026-03-01T10:00:00.000Z")}-1`,
        taskName: "backup",
        scheduledAt: "2026-03-01T10:00:00.000Z",
        startedAt: "2026-03-01T10:00:00.000Z",
        finishedAt: "2026-03-01T10:00:00.000Z",
        durationMs: 0,
        status: "succeeded",
        attempt: 1,
        nodeId: h.scheduler.nodeId,
        error: null,
        exitCode: null,
        httpStatus: null,
        stdout: null,
        stderr: null,
        output: { copied: 3 },
        truncated: false,
      },
    ] satisfies RunView[]);
    const lean = (await (await h.bearer("/api/tasks/backup/history?output=none")).json()) as {
      runs: RunView[];
    };
    assert.deepEqual(lean.runs, [{ ...history.runs[0], output: null }]);
    assert.equal((await h.bearer("/api/tasks/backup/history?output=some")).status, 400);
    const { task } = (await (await h.bearer("/api/tasks/backup")).json()) as { task: TaskView };
    assert.equal(task.lastStatus, "succeeded");
    assert.equal(task.runCount, 1);
    assert.deepEqual(task.recentDurationsMs, [0]);
  });

  it("records a failing run's error in the history", async () => {
    await h.bearer("/api/tasks/broken/trigger?wait=1", { method: "POST" });
    const { runs } = (await (await h.bearer("/api/tasks/broken/history?limit=1")).json()) as {
      runs: RunView[];
    };
    assert.equal(runs[0]?.status, "failed");
    assert.equal(runs[0]?.error?.message, "disk full\nat line 2");
    assert.equal(runs[0]?.error?.code, null);
    assert.match(runs[0]?.error?.stack ?? "", /disk full/);
    assert.equal(runs[0]?.output, null);
    assert.equal((await h.bearer("/api/tasks/broken/history?limit=0")).status, 400);
    assert.equal((await h.bearer("/api/tasks/broken/history?limit=abc")).status, 400);
    assert.equal((await h.bearer("/api/tasks/nope/history")).status, 404);
  });

  it("pauses and resumes", async () => {
    const paused = await h.bearer("/api/tasks/poll/pause", { method: "POST" });
    assert.equal(paused.status, 200);
    const body = (await paused.json()) as { task: TaskView };
    assert.equal(body.task.state, "paused");
    assert.equal(body.task.nextRun, null);
    assert.equal(h.scheduler.getTask("poll")?.state, "paused");
    const resumed = (await (
      await h.bearer("/api/tasks/poll/resume", { method: "POST" })
    ).json()) as {
      task: TaskView;
    };
    assert.equal(resumed.task.state, "active");
    assert.equal((await h.bearer("/api/tasks/nope/pause", { method: "POST" })).status, 404);
  });

  it("answers 405 to the wrong method and 404 to unknown routes", async () => {
    assert.equal((await h.bearer("/api/tasks/backup/trigger")).status, 405);
    assert.equal((await h.bearer("/api/tasks", { method: "POST" })).status, 405);
    assert.equal((await h.bearer("/api/tasks/backup/explode", { method: "POST" })).status, 404);
    assert.equal((await h.bearer("/nowhere")).status, 404);
  });

  it("streams task and run changes as server-sent events", async () => {
    const stream = await h.bearer("/api/events");
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get("content-type") ?? "", /^text\/event-stream/);
    const events = new SseReader(stream);
    try {
      const hello = await events.until((e) => e.event === "hello");
      assert.equal(hello.length, 1);
      // The stream is live from here on: what follows must arrive.
      void h.bearer("/api/tasks/backup/trigger", { method: "POST" });
      const seen = await events.until(
        (e) => e.event === "run" && (JSON.parse(e.data) as { type: string }).type === "success",
      );
      const runs = seen.filter((e) => e.event === "run").map((e) => JSON.parse(e.data) as object);
      assert.deepEqual(
        runs.map((r) => ({ ...r, durationMs: undefined })),
        [
          {
            type: "start",
            taskName: "backup",
            scheduledAt: "2026-03-01T10:00:00.000Z",
            attempt: 1,
            durationMs: undefined,
          },
          {
            type: "success",
            taskName: "backup",
            scheduledAt: "2026-03-01T10:00:00.000Z",
            attempt: 1,
            durationMs: undefined,
          },
        ],
      );
    } finally {
      await events.close();
    }
  });

  it("streams pause (a change the scheduler does not emit) and registration", async () => {
    const events = new SseReader(await h.bearer("/api/events"));
    try {
      await events.until((e) => e.event === "hello");
      await h.bearer("/api/tasks/poll/pause", { method: "POST" });
      await h.scheduler.registerTask("late", "0 0 * * *", () => {});
      const seen = await events.until((e) => e.data.includes('"late"'));
      assert.deepEqual(
        seen.filter((e) => e.event === "task").map((e) => JSON.parse(e.data) as object),
        [
          { type: "changed", taskName: "poll" },
          { type: "registered", taskName: "late" },
        ],
      );
    } finally {
      await events.close();
      await h.scheduler.resumeTask("poll");
      await h.scheduler.unregisterTask("late");
    }
  });
});

describe("describeTask", () => {
  it("describes cron, interval and one-time schedules", () => {
    assert.equal(
      describeTask({ kind: "cron", schedule: "0 9 * * MON", timezone: "UTC" }),
      parseCron("0 9 * * MON").describe(),
    );
    assert.equal(
      describeTask({ kind: "interval", schedule: "every 90000ms", timezone: null }),
      "Every 90s",
    );
    assert.equal(
      describeTask({ kind: "interval", schedule: "every 3600000ms", timezone: null }),
      "Every 1h",
    );
    assert.equal(
      describeTask({ kind: "once", schedule: "2026-03-01T10:00:00.000Z", timezone: null }),
      "Once at 2026-03-01T10:00:00.000Z",
    );
    assert.equal(describeTask({ kind: "cron", schedule: "not cron", timezone: null }), "not cron");
  });
});
