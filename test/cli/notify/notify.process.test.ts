/**
 * Notifications end to end: a real daemon runs a task that fails, then
 * succeeds again; a local SMTP server (smtp-server, with a password) and a
 * local HTTP receiver get exactly one failure and one recovery each, the
 * outbox records them (with no secret), and neither the log nor the outbox
 * holds the SMTP password or the webhook token.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SqliteStore } from "../../../src/store/sqlite/sqlite-store.js";
import { SystemClock } from "../../../src/time/clock.js";
import { waitFor } from "../../helpers/pg.js";
import { DaemonProcess, tempDirs } from "../daemon-process.js";
import { startHookReceiver, startSmtpReceiver } from "./receivers.js";

const tempDir = tempDirs("orchestrator-notify");

const SMTP_PASSWORD = "smtp-pa55word-secret";
const HOOK_TOKEN = "hook-token-0123456789";

/** A task that fails while the file `failing` exists in its folder. */
export const FLAKY_SCHEDULE = `notify:
  on: [failure, recovery]
  email:
    to: ops@example.com
    from: orchestrator@example.com
    smtp: "\${SMTP_URL}"
  webhook:
    url: "\${HOOK_URL}/hooks/ops"
    headers:
      Authorization: "Bearer \${HOOK_TOKEN}"
tasks:
  - name: flaky
    every: 1s
    command: "test -e failing && exit 3; exit 0"
    shell: true
`;

/** Counts lines matching `pattern` from `from` on. */
function count(daemon: DaemonProcess, pattern: RegExp, from = 0): number {
  return daemon.lines.slice(from).filter((line) => pattern.test(line)).length;
}

describe("notifications in the daemon", () => {
  it("sends one failure and one recovery by mail and webhook, recorded in the outbox", async (t) => {
    const dir = tempDir();
    const smtp = await startSmtpReceiver("mailer", SMTP_PASSWORD);
    t.after(() => smtp.close());
    const hook = await startHookReceiver();
    t.after(() => hook.close());
    writeFileSync(join(dir, "schedule.yaml"), FLAKY_SCHEDULE);
    writeFileSync(join(dir, "failing"), "");
    const daemon = new DaemonProcess(["schedule.yaml"], {
      cwd: dir,
      env: {
        SMTP_URL: `smtp://mailer:${SMTP_PASSWORD}@127.0.0.1:${smtp.port}`,
        HOOK_URL: hook.url,
        HOOK_TOKEN,
      },
    });
    t.after(() => daemon.dispose());

    await waitFor(
      "the failure mail and webhook",
      () => smtp.mails.length >= 1 && hook.hooks.length >= 1,
      {
        timeoutMs: 30_000,
      },
    );
    // More failing runs: no more messages (one per change of state).
    const { index: failedAt } = await daemon.waitFor(/notification sent/);
    for (let i = 0; i < 3; i++)
      await daemon.waitFor(() => count(daemon, /run failed/, failedAt) > i);
    rmSync(join(dir, "failing"));
    await waitFor(
      "the recovery mail and webhook",
      () => smtp.mails.length >= 2 && hook.hooks.length >= 2,
      {
        timeoutMs: 30_000,
      },
    );
    const { index: recoveredAt } = await daemon.waitFor(/run succeeded/);
    await daemon.waitFor(() => count(daemon, /run succeeded/, recoveredAt) >= 4);
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);

    assert.deepEqual(
      smtp.mails.map((m) => [m.subject, m.to, m.from, m.user]),
      [
        ["[orchestrator] flaky failed", ["ops@example.com"], "orchestrator@example.com", "mailer"],
        [
          "[orchestrator] flaky recovered",
          ["ops@example.com"],
          "orchestrator@example.com",
          "mailer",
        ],
      ],
    );
    assert.match(smtp.mails[0]?.raw ?? "", /exited with code 3/);
    assert.deepEqual(
      hook.hooks.map((h) => [h.path, h.headers.authorization, h.body.event, h.body.task]),
      [
        ["/hooks/ops", `Bearer ${HOOK_TOKEN}`, "failure", "flaky"],
        ["/hooks/ops", `Bearer ${HOOK_TOKEN}`, "recovery", "flaky"],
      ],
    );
    assert.match(String(hook.hooks[0]?.body.text), /^Task flaky failed: .*exited with code 3/);
    assert.equal(hook.hooks[0]?.body.exitCode, 3);

    const store = new SqliteStore({ path: join(dir, "orchestrator.db") });
    await store.open({ nodeId: "reader", clock: new SystemClock() });
    t.after(() => store.close());
    const rows = await store.notifications.list();
    // HOOK_URL is the whole origin here, so the redactor hides it (its value is a secret).
    assert.deepEqual(
      rows.map((r) => [r.kind, r.channel, r.status, r.attempts, r.recipient]).sort(),
      [
        ["failure", "email", "sent", 1, "ops@example.com"],
        ["failure", "webhook", "sent", 1, "[REDACTED]/…"],
        ["recovery", "email", "sent", 1, "ops@example.com"],
        ["recovery", "webhook", "sent", 1, "[REDACTED]/…"],
      ],
    );
    const stored = JSON.stringify(rows);
    for (const secret of [SMTP_PASSWORD, HOOK_TOKEN, "/hooks/ops"]) {
      assert.ok(!stored.includes(secret), `the outbox holds ${secret}`);
      assert.ok(!daemon.output.includes(secret), `the log holds ${secret}`);
    }
  });
});
