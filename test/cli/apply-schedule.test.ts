import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applySchedule, summarizeApply } from "../../src/cli/apply-schedule.js";
import {
  DAEMON_HANDLERS,
  defineDaemonHandlers,
  isDaemonPayload,
} from "../../src/cli/daemon-handlers.js";
import { parseListenAddress, parseRunFlags } from "../../src/cli/run-options.js";
import { toRegistration } from "../../src/cli/to-registration.js";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger } from "../../src/logger.js";
import { StoreError } from "../../src/errors.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { TaskRecord } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { specOf } from "./helpers.js";

const FILE = `
timezone: Europe/Berlin
tasks:
  - name: backup
    schedule: "0 3 * * *"
    command: ["pg_dump", "--file", "/tmp/x.sql"]
    env:
      PGPASSWORD: \${PGPASSWORD}
    overlap: queue
    misfire: skip
    retries: 2
    timeoutMs: 60000
  - name: ping
    every: 90s
    http:
      url: https://example.com/health
      headers:
        Authorization: Bearer \${API_TOKEN}
  - name: report
    schedule: "*/5 * * * *"
    timezone: UTC
    module:
      path: ./report.mjs
      export: report
    payload:
      title: Report
`;

function scheduler(now = "2026-01-01T00:00:00Z"): Scheduler {
  const s = new Scheduler(new Dispatcher(), {
    clock: new ManualClock(now),
    logger: silentLogger,
    timezone: "UTC",
  });
  defineDaemonHandlers(s, { env: {}, stopSignal: new AbortController().signal });
  return s;
}

describe("toRegistration", () => {
  it("maps schedules, options, and actions to registerTask arguments", () => {
    const [backup, ping, report] = specOf(FILE).tasks.map(toRegistration);
    assert.equal(backup?.schedule, "0 3 * * *");
    assert.equal(backup?.callback, DAEMON_HANDLERS.command);
    assert.deepEqual(
      {
        timezone: backup?.options.timezone,
        overlap: backup?.options.overlap,
        misfire: backup?.options.misfire,
        retries: backup?.options.retries,
        timeoutMs: backup?.options.timeoutMs,
      },
      {
        timezone: "Europe/Berlin",
        overlap: "queue",
        misfire: "skip",
        retries: { attempts: 2 },
        timeoutMs: 60000,
      },
    );
    assert.ok(isDaemonPayload(backup?.options.payload));
    // The action, with its ${NAME} reference unresolved, travels in the payload (sealed at rest).
    assert.deepEqual((backup?.options.payload as { action: { env: unknown } }).action.env, {
      PGPASSWORD: "${PGPASSWORD}",
    });
    assert.deepEqual(ping?.schedule, { every: 90_000 });
    assert.equal(ping?.callback, DAEMON_HANDLERS.http);
    assert.deepEqual(report?.callback, { module: "/srv/app/report.mjs", export: "report" });
    assert.deepEqual(report?.options.payload, { title: "Report" });
  });

  it("gives the same fingerprint to the same definition, another to a changed one", () => {
    const a = specOf(FILE).tasks.map(toRegistration);
    const b = specOf(FILE).tasks.map(toRegistration);
    const c = specOf(FILE.replace("0 3 * * *", "0 4 * * *")).tasks.map(toRegistration);
    assert.equal(a[0]?.fingerprint, b[0]?.fingerprint);
    assert.notEqual(a[0]?.fingerprint, c[0]?.fingerprint);
    assert.equal(a[1]?.fingerprint, c[1]?.fingerprint);
  });
});

describe("applySchedule", () => {
  it("adds, keeps, changes and removes tasks; removes only what the rule allows", async () => {
    const s = scheduler();
    const state = new Map<string, string>();
    const asked: string[] = [];
    const onlyPing = {
      mayRemove: (name: string) => {
        asked.push(name);
        return name === "ping";
      },
    };
    const first = await applySchedule(s, specOf(FILE).tasks, state, onlyPing);
    assert.equal(summarizeApply(first), "3 added, 0 changed, 0 removed, 0 unchanged");
    assert.equal(s.getTask("backup")?.timezone, "Europe/Berlin");

    const again = await applySchedule(s, specOf(FILE).tasks, state, onlyPing);
    assert.equal(summarizeApply(again), "0 added, 0 changed, 0 removed, 3 unchanged");
    assert.deepEqual(asked, [], "tasks in the file are never candidates for removal");

    await s.registerTask("library-task", "* * * * *", () => {});
    const edited = FILE.replace("0 3 * * *", "0 4 * * *").replace(
      / {2}- name: ping[\s\S]*?(?= {2}- name: report)/,
      "",
    );
    const third = await applySchedule(s, specOf(edited).tasks, state, onlyPing);
    assert.deepEqual(
      [third.added, third.changed, third.removed, third.unchanged],
      [[], ["backup"], ["ping"], ["report"]],
    );
    assert.equal(s.getTask("backup")?.schedule, "0 4 * * *");
    assert.ok(s.getTask("library-task"), "a task the rule does not allow to remove is kept");
    assert.deepEqual(asked.sort(), ["library-task", "ping"]);

    const everything = await applySchedule(s, specOf(edited).tasks, state, {
      mayRemove: () => true,
    });
    assert.deepEqual(everything.removed, ["library-task"]);
  });

  it("keeps as completed a one-time task whose time passed between the check and the apply", async () => {
    // The file is checked at 2026-01-01; the scheduler's clock is a year later.
    const s = scheduler("2027-01-01T00:00:00Z");
    const text = `tasks:\n  - name: ok\n    every: 1m\n    command: ["true"]\n  - name: past\n    at: "2026-06-01T00:00:00Z"\n    command: ["true"]\n`;
    const result = await applySchedule(s, specOf(text).tasks, new Map(), {
      mayRemove: () => true,
    });
    assert.deepEqual([result.added, result.failed], [["ok", "past"], []]);
    assert.equal(s.getTask("past")?.state, "completed");
    assert.equal(s.getTask("ok")?.state, "active");
  });

  it("changes nothing when the scheduler would refuse any task (refused), naming it and its position", async () => {
    // No daemon handlers defined: the scheduler refuses command tasks.
    const s = new Scheduler(new Dispatcher(), {
      clock: new ManualClock("2026-01-01T00:00:00Z"),
      logger: silentLogger,
    });
    await s.registerTask("library-task", "* * * * *", () => {});
    const text = `tasks:\n  - name: mod\n    every: 1m\n    module: { path: ./m.mjs }\n  - name: cmd\n    every: 1m\n    command: ["true"]\n`;
    const result = await applySchedule(s, specOf(text).tasks, new Map(), { mayRemove: () => true });
    assert.equal(result.refused, true);
    assert.deepEqual(
      result.failed.map((f) => [f.name, f.position]),
      [["cmd", { line: 5, column: 5 }]],
    );
    assert.match(String(result.failed[0]?.error), /no handler of that name/);
    assert.deepEqual([result.added, result.removed], [[], []]);
    assert.deepEqual(
      s.listTasks().map((t) => t.name),
      ["library-task"],
    );
  });

  it("applies the others when the store refuses one task while applying, and tries it again next time", async () => {
    let refuse = true;
    class FlakyStore extends MemoryStore {
      override putTaskSync(record: TaskRecord, options: { readonly replace: boolean }): void {
        if (record.name === "b" && refuse) throw new StoreError("disk full");
        super.putTaskSync(record, options);
      }
    }
    const s = new Scheduler(new Dispatcher(), {
      clock: new ManualClock("2026-01-01T00:00:00Z"),
      logger: silentLogger,
      store: new FlakyStore(),
    });
    defineDaemonHandlers(s, { env: {}, stopSignal: new AbortController().signal });
    const text = ["a", "b", "c"]
      .map((name) => `  - name: ${name}\n    every: 1m\n    command: ["true"]\n`)
      .join("");
    const state = new Map<string, string>();
    const first = await applySchedule(s, specOf(`tasks:\n${text}`).tasks, state, {
      mayRemove: () => true,
    });
    assert.equal(first.refused, false);
    assert.deepEqual(first.added, ["a", "c"]);
    assert.deepEqual(
      first.failed.map((f) => [f.name, f.position?.line]),
      [["b", 5]],
    );
    refuse = false;
    const second = await applySchedule(s, specOf(`tasks:\n${text}`).tasks, state, {
      mayRemove: () => true,
    });
    assert.deepEqual([second.added, second.unchanged], [["b"], ["a", "c"]]);
  });
});

describe("parseListenAddress", () => {
  it("reads host:port, [v6]:port and a port alone", () => {
    assert.deepEqual(parseListenAddress("127.0.0.1:8080"), { host: "127.0.0.1", port: 8080 });
    assert.deepEqual(parseListenAddress("[::1]:9000"), { host: "::1", port: 9000 });
    assert.deepEqual(parseListenAddress("8080"), { host: "127.0.0.1", port: 8080 });
    assert.throws(() => parseListenAddress("localhost"), /--http/);
    assert.throws(() => parseListenAddress("127.0.0.1:99999"), /--http/);
  });
});

describe("parseRunFlags: --http-allowed-host", () => {
  it("collects the names, checked, for the dashboard's Host check", () => {
    const settings = parseRunFlags(
      { http: "127.0.0.1:8080", httpAllowedHost: ["Dash.Example.com", ".internal.lan"] },
      "/srv",
    );
    assert.deepEqual(settings.http, {
      host: "127.0.0.1",
      port: 8080,
      allowedHosts: ["dash.example.com", ".internal.lan"],
      trustProxy: false,
    });
    assert.deepEqual(parseRunFlags({ http: "8080" }, "/srv").http?.allowedHosts, []);
    assert.throws(
      () => parseRunFlags({ http: "8080", httpAllowedHost: ["https://dash.example.com"] }, "/srv"),
      /--http-allowed-host/,
    );
    assert.throws(
      () => parseRunFlags({ httpAllowedHost: ["dash.example.com"] }, "/srv"),
      /--http-allowed-host.*--http/,
    );
  });
});

describe("parseRunFlags", () => {
  it("bounds --grace-ms by Node's timer limit (a longer grace period killed at once)", () => {
    assert.equal(parseRunFlags({ graceMs: "2147483647" }, "/srv").graceMs, 2 ** 31 - 1);
    assert.equal(parseRunFlags({ graceMs: "30s" }, "/srv").graceMs, 30_000);
    assert.throws(
      () => parseRunFlags({ graceMs: "2147483648" }, "/srv"),
      /`--grace-ms` to be a whole number of milliseconds from 0 ms to 2147483647 ms/,
    );
    assert.throws(() => parseRunFlags({ graceMs: "-1" }, "/srv"), /`--grace-ms`/);
  });
});
