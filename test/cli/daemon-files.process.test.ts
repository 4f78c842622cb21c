import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { DaemonProcess, cli } from "./daemon-process.js";

// Issue 13, item 20: two `orchestrator run` processes with different schedule
// files on one SQLite file. Neither may remove the other's tasks, on reload or
// restart, and each says loudly that another file is applied to the store.

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function task(name: string): string {
  // Yearly: the tasks only need to exist, not to run.
  return `  - name: ${name}\n    schedule: "0 0 1 1 *"\n    command: ["true"]\n`;
}

function schedule(...names: string[]): string {
  return `tasks:\n${names.map(task).join("")}`;
}

function listed(dir: string): string[] {
  const result = cli(["list", "--json"], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as { name: string }[]).map((t) => t.name).sort();
}

async function stop(daemon: DaemonProcess): Promise<void> {
  daemon.kill("SIGTERM");
  assert.equal((await daemon.exited).code, 0, daemon.output);
}

const CONFLICT = /ANOTHER DAEMON APPLIES A DIFFERENT SCHEDULE FILE/;

describe("two daemons with different schedule files on one SQLite store", () => {
  it("keep each other's tasks across reloads and restarts, warn naming both files, and remove only their own", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "orchestrator-two-files-"));
    dirs.push(dir);
    writeFileSync(join(dir, "a.yaml"), schedule("a-keep", "a-drop"));
    writeFileSync(join(dir, "b.yaml"), schedule("b-only"));

    const a = new DaemonProcess(["a.yaml"], { cwd: dir });
    t.after(() => a.dispose());
    await a.waitFor(/schedule applied: 2 added, 0 changed, 0 removed, 0 unchanged/);
    await a.waitFor(/orchestrator running/);

    // B starts: before the fix it removed a-keep and a-drop (not in its file).
    // A node id belongs to one live daemon, so B runs under its own.
    const b = new DaemonProcess(["b.yaml", "--node-id", "b"], { cwd: dir });
    t.after(() => b.dispose());
    const warned = await b.waitFor(CONFLICT);
    assert.match(warned.line, /a\.yaml/);
    assert.match(warned.line, /b\.yaml/);
    await b.waitFor(/schedule applied: 1 added, 0 changed, 0 removed, 0 unchanged/);
    await b.waitFor(/orchestrator running/);
    assert.deepEqual(listed(dir), ["a-drop", "a-keep", "b-only"]);

    // A reloads a file without a-drop: its own task goes, B's stays; A warns about B's file.
    writeFileSync(join(dir, "a.yaml"), schedule("a-keep"));
    const before = a.lines.length;
    a.kill("SIGHUP");
    await a.waitFor(/schedule reloaded: 0 added, 0 changed, 1 removed, 1 unchanged/, before);
    const aWarned = await a.waitFor(CONFLICT, before);
    assert.match(aWarned.line, /b\.yaml/);
    assert.deepEqual(listed(dir), ["a-keep", "b-only"]);

    // B restarts with its unchanged file: A's task stays.
    await stop(b);
    const b2 = new DaemonProcess(["b.yaml", "--node-id", "b"], { cwd: dir });
    t.after(() => b2.dispose());
    await b2.waitFor(CONFLICT);
    await b2.waitFor(/schedule applied: 0 added, 0 changed, 0 removed, 1 unchanged/);
    await b2.waitFor(/orchestrator running/);
    assert.deepEqual(listed(dir), ["a-keep", "b-only"]);

    // A restarts with an edited file: it may remove what its previous file added, not B's task.
    await stop(a);
    writeFileSync(join(dir, "a.yaml"), schedule("a-new"));
    const a2 = new DaemonProcess(["a.yaml"], { cwd: dir });
    t.after(() => a2.dispose());
    await a2.waitFor(CONFLICT);
    await a2.waitFor(/schedule applied: 1 added, 0 changed, 1 removed, 0 unchanged/);
    await a2.waitFor(/orchestrator running/);
    assert.deepEqual(listed(dir), ["a-new", "b-only"]);

    await stop(a2);
    await stop(b2);

    // The store says which file added each task, and the audit log who removed what.
    const db = new Database(join(dir, "orchestrator.db"), { readonly: true });
    try {
      const origins = db
        .prepare("SELECT task_name, path FROM task_origins ORDER BY task_name")
        .all() as { task_name: string; path: string }[];
      assert.deepEqual(
        origins.map((o) => [o.task_name, o.path]),
        [
          ["a-new", join(dir, "a.yaml")],
          ["b-only", join(dir, "b.yaml")],
        ],
      );
      const files = db
        .prepare("SELECT path, stopped_at FROM schedule_files ORDER BY path")
        .all() as { path: string; stopped_at: number | null }[];
      assert.deepEqual(
        files.map((f) => f.path),
        [join(dir, "a.yaml"), join(dir, "b.yaml")],
      );
      assert.ok(
        files.every((f) => f.stopped_at !== null),
        "both stopped cleanly",
      );
      const removals = db
        .prepare("SELECT task_name, actor FROM audit_log WHERE action = 'remove' ORDER BY seq")
        .all() as { task_name: string; actor: string }[];
      assert.deepEqual(
        removals.map((r) => r.task_name),
        ["a-drop", "a-keep"],
      );
      assert.ok(
        removals.every((r) => r.actor.startsWith("daemon:")),
        JSON.stringify(removals),
      );
    } finally {
      db.close();
    }
  });
});
