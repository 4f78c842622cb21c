import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";

import { join } from "node:path";
import { describe, it } from "node:test";
import { DaemonProcess, cli, tempDirs } from "./daemon-process.js";

// `orchestrator run` as users run it: a child process on a real SQLite file,
// observed through its log lines (no sleeps: every wait is for a line).

const tempDir = tempDirs("orchestrator-daemon");

function schedule(...tasks: string[]): string {
  return `tasks:\n${tasks.join("")}`;
}

function commandTask(name: string, command: string, extra = ""): string {
  return `  - name: ${name}\n    schedule: "*/1 * * * * *"\n    command: ${command}\n${extra}`;
}

const SLOW = commandTask("slow", `["sh", "-c", "echo begin; sleep 1; echo end"]`);

describe("orchestrator run", () => {
  it("runs a command task, writes history, and on SIGTERM finishes the running command and exits 0", async (t) => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), schedule(SLOW));
    const daemon = new DaemonProcess(["schedule.yaml", "--grace-ms", "60000"], { cwd: dir });
    t.after(() => daemon.dispose());

    const created = await daemon.waitFor(/created an encryption key file/);
    await daemon.waitFor(/schedule applied: 1 added, 0 changed, 0 removed, 0 unchanged/);
    const started = await daemon.waitFor(/run started\s+task=slow/, created.index);
    daemon.kill("SIGTERM");
    const stopping = await daemon.waitFor(/stopping/, started.index);
    const finished = await daemon.waitFor(/run succeeded\s+task=slow .*exitCode=0/, started.index);
    assert.ok(finished.index > stopping.index, daemon.output);
    const { code } = await daemon.exited;
    assert.equal(code, 0, daemon.output);
    assert.equal(daemon.lines.filter((l) => /encryption key file/.test(l)).length, 1);

    // The key file: beside the database, mode 0600.
    const keyFile = join(dir, "orchestrator.db.key");
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const key = readFileSync(keyFile, "utf8");

    // History, read back by `orchestrator history`.
    const history = cli(["history", "slow", "--json"], { cwd: dir });
    assert.equal(history.code, 0, history.stderr);
    const runs = JSON.parse(history.stdout) as { status: string; taskName: string }[];
    assert.ok(
      runs.some((run) => run.status === "succeeded" && run.taskName === "slow"),
      history.stdout,
    );

    // A restart reuses the key file and keeps the unchanged task; a task
    // removed from the file meanwhile is removed before anything runs.
    writeFileSync(join(dir, "schedule.yaml"), schedule(commandTask("other", `["true"]`)));
    const changed = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => changed.dispose());
    await changed.waitFor(/schedule applied: 1 added, 0 changed, 1 removed, 0 unchanged/);
    await changed.waitFor(/run succeeded\s+task=other/);
    changed.kill("SIGTERM");
    assert.equal((await changed.exited).code, 0, changed.output);
    assert.ok(!changed.lines.some((l) => /task=slow/.test(l)), changed.output);

    const again = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => again.dispose());
    await again.waitFor(/schedule applied: 0 added, 0 changed, 0 removed, 1 unchanged/);
    await again.waitFor(/orchestrator running/);
    again.kill("SIGINT");
    assert.equal((await again.exited).code, 0, again.output);
    assert.equal(readFileSync(keyFile, "utf8"), key);
    assert.ok(!again.lines.some((l) => /created an encryption key file/.test(l)), again.output);
  });

  it("kills what still runs when the grace period is over, records it, and exits 0; a second signal exits 130", async (t) => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), schedule(commandTask("long", `["sleep", "600"]`)));
    const daemon = new DaemonProcess(["schedule.yaml", "--grace-ms", "0"], { cwd: dir });
    t.after(() => daemon.dispose());
    await daemon.waitFor(/run started\s+task=long/);
    daemon.kill("SIGTERM");
    await daemon.waitFor(/grace period over/);
    assert.equal((await daemon.exited).code, 0, daemon.output);
    const runs = JSON.parse(cli(["history", "long", "--json"], { cwd: dir }).stdout) as {
      status: string;
    }[];
    assert.equal(runs[0]?.status, "failed", JSON.stringify(runs));

    const again = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => again.dispose());
    await again.waitFor(/run started\s+task=long/);
    again.kill("SIGTERM");
    await again.waitFor(/stopping: waiting for running runs/);
    again.kill("SIGTERM");
    assert.equal((await again.exited).code, 130, again.output);
  });

  it("keeps a secret in a command's arguments and env out of the database file", async (t) => {
    const dir = tempDir();
    const secretArg = "argv-secret-4821-qwe";
    const secretEnv = "env-secret-9313-rty";
    writeFileSync(
      join(dir, "schedule.yaml"),
      schedule(
        commandTask(
          "secretive",
          `["sh", "-c", "test -n \\"$TOKEN\\"", "${secretArg}"]`,
          `    env:\n      TOKEN: ${secretEnv}\n`,
        ),
      ),
    );
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    await daemon.waitFor(/run succeeded\s+task=secretive/);
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
    for (const file of ["orchestrator.db", "orchestrator.db-wal"]) {
      const path = join(dir, file);
      if (!existsSync(path)) continue;
      const bytes = readFileSync(path);
      assert.equal(bytes.includes(secretArg), false, `${file} holds the argument`);
      assert.equal(bytes.includes(secretEnv), false, `${file} holds the env value`);
    }
  });

  it("reloads on SIGHUP: adds and removes tasks; an invalid file keeps the running schedule", async (t) => {
    const dir = tempDir();
    const file = join(dir, "schedule.yaml");
    writeFileSync(file, schedule(commandTask("first", `["true"]`)));
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    await daemon.waitFor(/run succeeded\s+task=first/);

    writeFileSync(file, schedule(commandTask("second", `["true"]`)));
    daemon.kill("SIGHUP");
    const reloaded = await daemon.waitFor(
      /schedule reloaded: 1 added, 0 changed, 1 removed, 0 unchanged/,
    );
    await daemon.waitFor(/run succeeded\s+task=second/, reloaded.index);

    writeFileSync(
      file,
      'tasks:\n  - name: broken\n    schedule: "*/1 * * * * *"\n    comand: [true]\n',
    );
    daemon.kill("SIGHUP");
    const invalid = await daemon.waitFor(/schedule file invalid: kept the running schedule/);
    assert.ok(
      daemon.lines.some((line) => /schedule\.yaml:\d+:\d+: /.test(line)),
      daemon.output,
    );
    await daemon.waitFor(/run succeeded\s+task=second/, invalid.index);
    assert.ok(
      !daemon.lines.slice(reloaded.index).some((line) => /run started\s+task=first/.test(line)),
      daemon.output,
    );
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
  });

  it("replaces a changed task on reload without interrupting its running run", async (t) => {
    const dir = tempDir();
    const file = join(dir, "schedule.yaml");
    writeFileSync(file, schedule(commandTask("slow", `["sh", "-c", "sleep 2; echo old"]`)));
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    const started = await daemon.waitFor(/run started\s+task=slow/);
    writeFileSync(file, schedule(commandTask("slow", `["echo", "new"]`)));
    daemon.kill("SIGHUP");
    const reloaded = await daemon.waitFor(
      /schedule reloaded: 0 added, 1 changed, 0 removed, 0 unchanged/,
      started.index,
    );
    // The run in flight when the task was replaced finishes normally.
    await daemon.waitFor(/run succeeded\s+task=slow .*exitCode=0/, reloaded.index);
    assert.ok(!daemon.lines.some((line) => /run failed/.test(line)), daemon.output);
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
    const runs = JSON.parse(cli(["history", "slow", "--json"], { cwd: dir }).stdout) as {
      status: string;
      output: { stdout?: string } | null;
    }[];
    assert.ok(
      runs.length > 0 && runs.every((run) => run.status !== "failed"),
      JSON.stringify(runs),
    );
  });

  it("reloads with --watch when the file changes, and runs module handlers in a worker thread", async (t) => {
    const dir = tempDir();
    const file = join(dir, "schedule.yaml");
    writeFileSync(
      join(dir, "handler.mjs"),
      "export async function greet(ctx) { return { greeted: ctx.payload.who }; }\n",
    );
    writeFileSync(file, schedule(commandTask("first", `["true"]`)));
    const daemon = new DaemonProcess(["schedule.yaml", "--watch"], { cwd: dir });
    t.after(() => daemon.dispose());
    await daemon.waitFor(/run succeeded\s+task=first/);
    writeFileSync(
      file,
      schedule(
        commandTask("first", `["true"]`),
        '  - name: greeter\n    schedule: "*/1 * * * * *"\n    module:\n      path: ./handler.mjs\n      export: greet\n    payload:\n      who: world\n',
      ),
    );
    const reloaded = await daemon.waitFor(
      /schedule reloaded: 1 added, 0 changed, 0 removed, 1 unchanged/,
    );
    await daemon.waitFor(/run succeeded\s+task=greeter/, reloaded.index);
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
  });

  it("serves the dashboard with --http: prints a login link once, and /healthz answers", async (t) => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), schedule(commandTask("first", `["true"]`)));
    const daemon = new DaemonProcess(["schedule.yaml", "--http", "127.0.0.1:0"], { cwd: dir });
    t.after(() => daemon.dispose());
    const listening = await daemon.waitFor(/dashboard listening/);
    const url = /url=(\S+)/.exec(listening.line)?.[1];
    assert.ok(url, listening.line);
    const link = await daemon.waitFor((line) => line.includes(`${url}/login#`));
    assert.match(link.line, /#token=/);
    const response = await fetch(`${url}/healthz`);
    assert.equal(response.status, 200);
    const denied = await fetch(`${url}/api/tasks`);
    assert.equal(denied.status, 401);
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
    assert.equal(daemon.lines.filter((line) => line.includes("/login#")).length, 1);
  });

  it("refuses --http on a non-loopback address without ORCHESTRATOR_TOKEN (exit 2)", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), schedule(commandTask("first", `["true"]`)));
    const result = cli(["run", "schedule.yaml", "--http", "0.0.0.0:0"], { cwd: dir });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /ORCHESTRATOR_TOKEN/);
  });

  it("writes JSON lines with --log-format json", async (t) => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), schedule(commandTask("first", `["true"]`)));
    const daemon = new DaemonProcess(
      ["schedule.yaml", "--log-format", "json", "--http", "127.0.0.1:0"],
      { cwd: dir },
    );
    t.after(() => daemon.dispose());
    await daemon.waitFor((line) => line.includes('"run succeeded"'));
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
    const records = daemon.lines
      .filter((line) => line !== "")
      .map(
        (line) =>
          JSON.parse(line) as { msg: string; level: number; task?: string; exitCode?: number },
      );
    // The login link is a credential: JSON logs are collected and kept, so it is not in them.
    assert.ok(!records.some((record) => /\/login#token=/.test(JSON.stringify(record))));
    const success = records.find((record) => record.msg === "run succeeded");
    assert.equal(success?.task, "first");
    assert.equal(success?.exitCode, 0);
  });

  it("exits 2 with PostgreSQL and no encryption key, saying how to make one", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), schedule(commandTask("first", `["true"]`)));
    const result = cli(["run", "schedule.yaml", "--store", "postgres://nobody@127.0.0.1:1/none"], {
      cwd: dir,
    });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /ORCHESTRATOR_ENCRYPTION_KEY/);
    assert.match(result.stderr, /orchestrator keys generate/);
  });

  it("exits 2 on an invalid schedule file, naming file:line:column", () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "schedule.yaml"),
      'tasks:\n  - name: x\n    schedule: "61 * * * *"\n    command: [true]\n',
    );
    const result = cli(["run", "schedule.yaml"], { cwd: dir });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stdout, /schedule\.yaml:3:\d+: /);
    assert.equal(existsSync(join(dir, "orchestrator.db")), false);
  });
});

describe("store commands against the daemon's database", () => {
  it("list, history, pause, resume, trigger; unknown task exits 2", async (t) => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), schedule(commandTask("beat", `["echo", "beat"]`)));
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    await daemon.waitFor(/run succeeded\s+task=beat/);

    // Pausing through the store reaches the running daemon.
    const paused = cli(["pause", "beat"], { cwd: dir });
    assert.equal(paused.code, 0, paused.stderr);
    const pausedLine = await daemon.waitFor(/task paused \(orchestrator pause\)\s+task=beat/);
    assert.equal(cli(["resume", "beat"], { cwd: dir }).code, 0);
    const resumed = await daemon.waitFor(/task resumed/, pausedLine.index);
    await daemon.waitFor(/run succeeded\s+task=beat/, resumed.index);
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);

    const list = cli(["list"], { cwd: dir });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME\s+SCHEDULE\s+NEXT RUN\s+LAST STATUS\s+STATE$/m);
    assert.match(list.stdout, /^beat\s+\*\/1 \* \* \* \* \* \(\S+\)\s+.*succeeded\s+active$/m);
    const listed = JSON.parse(cli(["list", "--json"], { cwd: dir }).stdout) as { name: string }[];
    assert.deepEqual(
      listed.map((task) => task.name),
      ["beat"],
    );

    const history = cli(["history", "--limit", "2"], { cwd: dir });
    assert.equal(history.code, 0, history.stderr);
    assert.equal(history.stdout.trim().split("\n").length, 3, history.stdout);
    assert.match(history.stdout, /beat\s+succeeded/);

    assert.equal(cli(["pause", "beat"], { cwd: dir }).code, 0);
    const pausedList = JSON.parse(cli(["list", "--json"], { cwd: dir }).stdout) as {
      state: string;
    }[];
    assert.equal(pausedList[0]?.state, "paused");
    assert.equal(cli(["resume", "beat"], { cwd: dir }).code, 0);

    for (const command of [["pause"], ["resume"], ["trigger"], ["history"]]) {
      const unknown = cli([...command, "nope"], { cwd: dir });
      assert.equal(unknown.code, 2, `${command[0] ?? ""}: ${unknown.stderr}`);
      assert.match(unknown.stderr, /No task named "nope"/);
    }

    const trigger = cli(["trigger", "beat"], { cwd: dir });
    assert.equal(trigger.code, 0, trigger.stderr);
    assert.match(trigger.stdout, /beat\s+succeeded/);
  });
  it("keys rotate re-seals with a new primary key; the daemon then runs with the new key alone", async (t) => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), schedule(commandTask("beat", `["true"]`)));
    const first = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => first.dispose());
    await first.waitFor(/run succeeded\s+task=beat/);
    first.kill("SIGTERM");
    assert.equal((await first.exited).code, 0, first.output);

    const oldKey = readFileSync(join(dir, "orchestrator.db.key"), "utf8").trim();
    const newKey = cli(["keys", "generate"], { cwd: dir }).stdout.trim();
    const rotated = cli(["keys", "rotate"], {
      cwd: dir,
      env: { ORCHESTRATOR_ENCRYPTION_KEYS: `${newKey},${oldKey}` },
    });
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /1 re-sealed/);

    const next = new DaemonProcess(["schedule.yaml"], {
      cwd: dir,
      env: { ORCHESTRATOR_ENCRYPTION_KEY: newKey },
    });
    t.after(() => next.dispose());
    await next.waitFor(/schedule applied: 0 added, 0 changed, 0 removed, 1 unchanged/);
    await next.waitFor(/run succeeded\s+task=beat/);
    next.kill("SIGTERM");
    assert.equal((await next.exited).code, 0, next.output);

    // With the old key alone the record does not open: the task is
    // quarantined and left as it is, not overwritten from the file.
    const wrong = new DaemonProcess(["schedule.yaml"], {
      cwd: dir,
      env: { ORCHESTRATOR_ENCRYPTION_KEY: oldKey },
    });
    t.after(() => wrong.dispose());
    await wrong.waitFor(/quarantined/);
    await wrong.waitFor(/schedule applied: 0 added, 0 changed, 0 removed, 0 unchanged, 1 failed/);
    wrong.kill("SIGTERM");
    assert.equal((await wrong.exited).code, 0, wrong.output);
  });
});
