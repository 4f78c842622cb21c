/**
 * Issue 16, item 5: `orchestrator backup <file>` copies the SQLite store of a
 * running daemon that keeps writing, with SQLite's online backup API. The copy
 * opens, passes its check and holds the history; the daemon's runs go on.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { DaemonProcess, tempDirs } from "./daemon-process.js";

const tempDir = tempDirs("orchestrator-backup");
const bin = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");

/** Runs a CLI command without blocking this process's event loop (the daemon's output keeps being read). */
function cliAsync(
  args: readonly string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", tsx, bin, ...args],
      { cwd, env: { ...process.env, NO_COLOR: "1" } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const TICK = `tasks:
  - name: tick
    schedule: "*/1 * * * * *"
    command: ["sh", "-c", "echo tick-output"]
`;

function historyRows(path: string, task: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const check = db.pragma("quick_check", { simple: true });
    assert.equal(check, "ok");
    const row = db
      .prepare("SELECT count(*) AS n FROM run_history WHERE task_name = ? AND status = 'succeeded'")
      .get(task) as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

const succeeded = /run succeeded\s+task=tick/;

describe("orchestrator backup", () => {
  it("copies the store of a running daemon that keeps writing; the copy opens with the history and the runs go on", async (t) => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), TICK);
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    const first = await daemon.waitFor(succeeded);
    const second = await daemon.waitFor(succeeded, first.index + 1);

    const result = await cliAsync(["backup", "backups/copy.db"], dir).then(async (r) => {
      // The folder does not exist: refused, nothing created.
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /error: backup: the folder .*backups does not exist/);
      assert.ok(!existsSync(join(dir, "backups")));
      return cliAsync(["backup", "copy.db"], dir);
    });
    const afterBackup = daemon.lines.length;
    assert.equal(result.code, 0, result.stderr);
    const copy = join(dir, "copy.db");
    assert.match(
      result.stdout,
      new RegExp(
        `^backed up ${join(dir, "orchestrator.db")} to ${copy}: \\d+ pages of \\d+ bytes \\(\\d+ bytes\\), quick_check ok$`,
        "m",
      ),
    );
    assert.match(result.stdout, /keep the key too \(.*orchestrator\.db\.key/);
    assert.equal(statSync(copy).mode & 0o777, 0o600);
    // One file: no temporary, no -wal or -shm of the copy left beside it.
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.includes("copy")),
      ["copy.db"],
    );
    assert.ok(historyRows(copy, "tick") >= 2, "the copy holds the runs recorded before it");

    // The daemon was never held up: it goes on running and recording, with no store trouble.
    const next = await daemon.waitFor(succeeded, Math.max(afterBackup, second.index + 1));
    await daemon.waitFor(succeeded, next.index + 1);
    assert.ok(
      !daemon.lines.some((line) => /Store unusable|locked|Could not/.test(line)),
      daemon.output,
    );

    // An existing file is kept unless --force; with it, the newer copy replaces it.
    const refused = await cliAsync(["backup", "copy.db"], dir);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /copy\.db exists; pass --force to replace it/);
    const before = historyRows(copy, "tick");
    const forced = await cliAsync(["backup", "copy.db", "--force"], dir);
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(historyRows(copy, "tick") > before);

    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
  });

  it("refuses a PostgreSQL store (pointing to pg_dump), the store itself, and a missing store", async (t) => {
    const dir = tempDir();
    const pg = await cliAsync(["backup", "x.db", "--store", "postgres://u@127.0.0.1:1/db"], dir);
    assert.equal(pg.code, 2);
    assert.match(
      pg.stderr,
      /error: backup copies a SQLite store; for a PostgreSQL store use pg_dump/,
    );
    const missing = await cliAsync(["backup", "x.db"], dir);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /No database at .*orchestrator\.db/);
    writeFileSync(join(dir, "schedule.yaml"), TICK);
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    await daemon.waitFor(/orchestrator running/);
    const itself = await cliAsync(["backup", "orchestrator.db", "--force"], dir);
    assert.equal(itself.code, 2);
    assert.match(itself.stderr, /is the store itself/);
    assert.ok(!existsSync(join(dir, "x.db")));
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
  });
});
