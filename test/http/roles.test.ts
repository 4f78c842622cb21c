import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { AuditView } from "../../src/http/audit-trail.js";
import { actionOfRequest, tokenFingerprint } from "../../src/http/roles.js";
import { startHttpServer } from "../../src/http/server.js";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { TOKEN, login, startHarness, type Harness } from "./helpers.js";

// Issue 13, item 21: a read-only token, and an audit log of every state change.

const READ_TOKEN = "read-only-token-9876543210fedcba";

function fingerprint(token: string): string {
  return createHash("sha256").update(token).digest("hex").slice(0, 8);
}

describe("roles: the read-only token", () => {
  let h: Harness;
  const asReader = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(h.at(path), {
      ...init,
      redirect: "manual",
      headers: { Authorization: `Bearer ${READ_TOKEN}` },
    });
  const audit = async (path: string): Promise<AuditView[]> => {
    const response = await h.bearer(path);
    assert.equal(response.status, 200);
    return ((await response.json()) as { entries: AuditView[] }).entries;
  };

  before(async () => {
    h = await startHarness(
      async (scheduler) => {
        await scheduler.registerTask("backup", "30 2 * * *", () => {});
        await scheduler.registerTask("report", "0 9 * * *", () => {});
      },
      { readOnlyToken: READ_TOKEN },
    );
  });
  after(() => h.close());

  it("may view tasks, a task, its history, its audit log and the page", async () => {
    for (const path of [
      "/api/tasks",
      "/api/tasks/backup",
      "/api/tasks/backup/history",
      "/api/tasks/backup/audit",
      "/api/audit",
      "/metrics",
      "/",
    ]) {
      assert.equal((await asReader(path)).status, 200, path);
    }
  });

  it("is refused every state-changing route with 403 and a clear message; nothing changes", async () => {
    for (const action of ["trigger", "pause", "resume"]) {
      const response = await asReader(`/api/tasks/backup/${action}`, { method: "POST" });
      assert.equal(response.status, 403, action);
      const body = (await response.json()) as { error: string; message: string };
      assert.equal(body.error, "read_only");
      assert.match(body.message, /read-only.*not trigger, pause, resume, remove/);
    }
    // Routes that do not exist yet (or that another version adds) are refused the same way.
    for (const [method, path] of [
      ["DELETE", "/api/tasks/backup"],
      ["POST", "/api/tasks/backup/remove"],
      ["PUT", "/api/tasks/backup"],
      ["POST", "/api/anything"],
    ] as const) {
      assert.equal((await asReader(path, { method })).status, 403, `${method} ${path}`);
    }
    assert.equal(h.scheduler.getTask("backup")?.state, "active");
    assert.equal(h.scheduler.getTask("backup")?.runCount, 0);
  });

  it("a read-only cookie session is refused too, and its page says read-only", async () => {
    const session = await login(h, READ_TOKEN);
    const page = await (
      await fetch(h.at("/tasks/backup"), { headers: { Cookie: session.cookie } })
    ).text();
    assert.match(page, /<meta name="orchestrator-role" content="read-only">/);
    assert.match(page, /Read-only/);
    const origin = new URL(h.server.url).origin;
    const response = await fetch(h.at("/api/tasks/backup/pause"), {
      method: "POST",
      headers: {
        Cookie: session.cookie,
        "X-CSRF-Token": session.csrfToken,
        Origin: origin,
        "Sec-Fetch-Site": "same-origin",
      },
    });
    assert.equal(response.status, 403);
    assert.equal(h.scheduler.getTask("backup")?.state, "active");
    const admin = await login(h);
    const adminPage = await (await fetch(h.at("/"), { headers: { Cookie: admin.cookie } })).text();
    assert.match(adminPage, /<meta name="orchestrator-role" content="admin">/);
  });

  it("the admin token acts, and every action and refusal is in the audit log, with no token", async () => {
    assert.equal((await h.bearer("/api/tasks/report/pause", { method: "POST" })).status, 200);
    assert.equal((await h.bearer("/api/tasks/report/resume", { method: "POST" })).status, 200);
    const triggered = await h.bearer("/api/tasks/report/trigger?wait=1", { method: "POST" });
    assert.equal(triggered.status, 200);
    assert.equal((await asReader("/api/tasks/report/pause", { method: "POST" })).status, 403);

    const entries = await audit("/api/tasks/report/audit");
    const admin = `admin:${fingerprint(TOKEN)}`;
    const reader = `read-only:${fingerprint(READ_TOKEN)}`;
    assert.equal(tokenFingerprint(TOKEN), fingerprint(TOKEN));
    assert.deepEqual(
      entries.map((e) => [e.actor, e.action, e.taskName, e.result, e.detail]),
      [
        [reader, "pause", "report", "refused", "read-only token"],
        [admin, "trigger", "report", "ok", "run succeeded"],
        [admin, "resume", "report", "ok", null],
        [admin, "pause", "report", "ok", null],
      ],
    );
    assert.ok(entries.every((e) => !Number.isNaN(Date.parse(e.at))));

    const all = await audit("/api/audit?limit=500");
    assert.ok(all.length >= entries.length + 7, JSON.stringify(all));
    assert.ok(all.some((e) => e.taskName === "backup" && e.result === "refused"));
    const text = JSON.stringify(all);
    assert.ok(!text.includes(TOKEN) && !text.includes(READ_TOKEN), "no token in the audit log");

    assert.equal((await audit("/api/tasks/report/audit?limit=1")).length, 1);
    assert.equal((await h.bearer("/api/tasks/report/audit?limit=0")).status, 400);
    assert.equal((await h.bearer("/api/tasks/report/audit?limit=x")).status, 400);
    assert.equal((await h.bearer("/api/tasks/report/audit", { method: "POST" })).status, 405);
    // The log of a task that no longer exists is still served.
    assert.deepEqual(await audit("/api/tasks/gone/audit"), []);
  });

  it("logging in with JSON says the role", async () => {
    const origin = new URL(h.server.url).origin;
    const response = await fetch(h.at("/login"), {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Origin: origin,
        "Sec-Fetch-Site": "same-origin",
      },
      body: JSON.stringify({ token: READ_TOKEN }),
    });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { role: string }).role, "read-only");
  });

  it("names the action of a request path", () => {
    assert.deepEqual(actionOfRequest("POST", "/api/tasks/a%2Fb/pause"), {
      action: "pause",
      taskName: "a/b",
    });
    assert.deepEqual(actionOfRequest("DELETE", "/api/tasks/x"), {
      action: "delete task",
      taskName: "x",
    });
    assert.deepEqual(actionOfRequest("POST", "/api/other"), {
      action: "POST /api/other",
      taskName: null,
    });
  });
});

describe("roles: options", () => {
  it("refuses a read-only token that is empty or equal to the admin token, without printing it", async () => {
    const dispatcher = new Dispatcher();
    const scheduler = new Scheduler(dispatcher);
    try {
      for (const readOnlyToken of ["", "  ", TOKEN]) {
        await assert.rejects(
          startHttpServer({ scheduler, port: 0, token: TOKEN, readOnlyToken }),
          (error: Error) => {
            assert.match(error.message, /options\.readOnlyToken/);
            assert.ok(!error.message.includes(TOKEN), error.message);
            return true;
          },
        );
      }
    } finally {
      await dispatcher.close();
    }
  });
});
