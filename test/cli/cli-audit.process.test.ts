import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { toRegistration } from "../../src/cli/to-registration.js";
import { cliActor } from "../../src/cli/commands/audit.js";
import type { CommandIO } from "../../src/cli/commands/io.js";
import type { StoreCommandContext } from "../../src/cli/commands/store-access.js";
import {
  runPauseResumeCommand,
  runRotateKeysCommand,
  runTriggerCommand,
} from "../../src/cli/commands/store-commands.js";
import { defineDaemonHandlers } from "../../src/cli/daemon-handlers.js";
import { createCliDispatcher, resolveCliKey } from "../../src/cli/open-store.js";
import { parseStoreUrl } from "../../src/cli/store-url.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import type { AuditEntry } from "../../src/store/daemon-records.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";
import { SystemClock } from "../../src/time/clock.js";
import { DaemonProcess } from "./daemon-process.js";
import { specOf } from "./helpers.js";

// Issue 13, item 21: the CLI's state-changing commands append to the store's audit log.

const dir = mkdtempSync(join(tmpdir(), "orchestrator-cli-audit-"));
const db = join(dir, "orchestrator.db");
const flags = { store: `sqlite:${db}` };
after(() => rmSync(dir, { recursive: true, force: true }));

function context(): StoreCommandContext & { out: string[] } {
  const out: string[] = [];
  const io: CommandIO = {
    stdout: (text) => void out.push(text),
    stderr: (text) => void out.push(text),
    color: false,
  };
  return { io, clock: new SystemClock(), env: {}, cwd: dir, out };
}

async function auditLog(): Promise<AuditEntry[]> {
  const store = new SqliteStore({ path: db });
  await store.open({ nodeId: "reader", clock: new SystemClock() });
  try {
    return (await store.records.auditLog({ limit: 100 })).reverse();
  } finally {
    await store.close();
  }
}

describe("CLI commands write the audit log", () => {
  before(async () => {
    // The task a daemon would have stored: a command task, sealed with the key file's key.
    const { encryptionKey } = await resolveCliKey(parseStoreUrl(flags.store, dir), {}, true);
    const store = new SqliteStore({ path: db });
    const dispatcher = createCliDispatcher();
    const options = { store, logger: silentLogger, encryptionKey };
    const scheduler = new Scheduler(dispatcher, options);
    defineDaemonHandlers(scheduler, { env: {}, stopSignal: new AbortController().signal });
    const [spec] = specOf('tasks:\n  - name: job\n    every: 1h\n    command: ["true"]\n').tasks;
    const registration = toRegistration(spec ?? assert.fail("no task"));
    await scheduler.registerTask(
      registration.name,
      registration.schedule,
      registration.callback,
      registration.options,
    );
    await scheduler.stop();
    await dispatcher.close();
    await store.close();
  });

  it("pause, resume, trigger and keys rotate each append a row as cli:<user>@<host>", async () => {
    for (const run of [
      () => runPauseResumeCommand("pause", "job", flags, context()),
      () => runPauseResumeCommand("pause", "job", flags, context()),
      () => runPauseResumeCommand("resume", "job", flags, context()),
      () => runTriggerCommand("job", flags, context()),
      () => runRotateKeysCommand(flags, context()),
    ]) {
      assert.equal(await run(), 0);
    }
    // An unknown task changes nothing, and leaves no row.
    assert.equal(await runPauseResumeCommand("pause", "nope", flags, context()), 2);

    const actor = cliActor({});
    assert.match(actor, /^cli:[^@]+@.+$/);
    const rows = await auditLog();
    assert.deepEqual(
      rows.map((r) => [r.actor, r.action, r.taskName, r.result, r.detail]),
      [
        [actor, "pause", "job", "ok", null],
        [actor, "pause", "job", "ok", "it was paused already"],
        [actor, "resume", "job", "ok", null],
        [actor, "trigger", "job", "ok", "run succeeded"],
        [actor, "rotate-keys", null, "ok", "0 re-sealed, 1 unchanged, 0 failed"],
      ],
    );
  });
});

describe("orchestrator run --http with ORCHESTRATOR_READ_TOKEN", () => {
  it("refuses the read-only token's actions with 403, and audits them with the admin's", async (t) => {
    const home = mkdtempSync(join(tmpdir(), "orchestrator-read-token-"));
    t.after(() => rmSync(home, { recursive: true, force: true }));
    writeFileSync(
      join(home, "s.yaml"),
      'tasks:\n  - name: job\n    every: 1h\n    command: ["true"]\n',
    );
    const admin = "daemon-admin-token-3f1e";
    const reader = "daemon-read-token-8c2d";
    const daemon = new DaemonProcess(["s.yaml", "--http", "127.0.0.1:0"], {
      cwd: home,
      env: { ORCHESTRATOR_TOKEN: admin, ORCHESTRATOR_READ_TOKEN: reader },
    });
    t.after(() => daemon.dispose());
    const listening = await daemon.waitFor(/dashboard listening/);
    const url = /url=(\S+)/.exec(listening.line)?.[1] ?? assert.fail(listening.line);
    const as = (token: string, path: string, method = "GET"): Promise<Response> =>
      fetch(`${url}${path}`, { method, headers: { Authorization: `Bearer ${token}` } });

    assert.equal((await as(reader, "/api/tasks/job")).status, 200);
    assert.equal((await as(reader, "/api/tasks/job/pause", "POST")).status, 403);
    assert.equal((await as(admin, "/api/tasks/job/pause", "POST")).status, 200);
    const { entries } = (await (await as(reader, "/api/tasks/job/audit")).json()) as {
      entries: { actor: string; action: string; result: string }[];
    };
    assert.deepEqual(
      entries.slice(0, 2).map((e) => [e.actor.split(":")[0], e.action, e.result]),
      [
        ["admin", "pause", "ok"],
        ["read-only", "pause", "refused"],
      ],
    );
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
    assert.ok(!daemon.output.includes(admin) && !daemon.output.includes(reader), daemon.output);
  });
});
