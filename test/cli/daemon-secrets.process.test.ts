import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { chmodSync, existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { deriveKeyId, parseKeyMaterial } from "../../src/crypto/key-material.js";
import { DaemonProcess, cli, tempDirs } from "./daemon-process.js";

// Issue 13, items 1–3: the daemon run as an attacker and a careless operator
// would, as a child process on a real SQLite file.

const tempDir = tempDirs("orchestrator-secrets");

/** A task that runs every second; `action` is YAML for the action's keys. */
function everySecond(name: string, action: string): string {
  return `  - name: ${name}\n    schedule: "*/1 * * * * *"\n${action}`;
}

/** Flow-style YAML (JSON is YAML) for an argv. */
function argv(...args: string[]): string {
  return `    command: ${JSON.stringify(args)}\n`;
}

function env(vars: Record<string, string>): string {
  return `    env:\n${Object.entries(vars)
    .map(([name, value]) => `      ${name}: ${JSON.stringify(value)}\n`)
    .join("")}`;
}

/** Spawns the daemon under umask 000, so that only the daemon's own care makes files private. */
function underOpenUmask<T>(start: () => T): T {
  const previous = process.umask(0);
  try {
    return start();
  } finally {
    process.umask(previous);
  }
}

function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

/** Waits for the daemon to end and its output to be read to the end. */
async function ended(daemon: DaemonProcess): Promise<number | null> {
  const { child } = daemon;
  const exited = child.exitCode !== null || child.signalCode !== null;
  if (!(exited && child.stdout?.closed === true && child.stderr?.closed === true)) {
    await once(child, "close");
  }
  return child.exitCode;
}

const SCHEDULE = "schedule.yaml";
const EXIT_TIMEOUT = { timeout: 60_000 };

/** A folder with a schedule of one task, `beat`, that succeeds every second. */
function beatDir(): string {
  const dir = tempDir();
  writeFileSync(join(dir, SCHEDULE), `tasks:\n${everySecond("beat", argv("true"))}`);
  return dir;
}

/** Starts `orchestrator run schedule.yaml …args` in `dir`, stopped when the test ends. */
function start(
  t: TestContext,
  dir: string,
  args: readonly string[] = [],
  vars: Record<string, string> = {},
): DaemonProcess {
  const daemon = new DaemonProcess([SCHEDULE, ...args], { cwd: dir, env: vars });
  t.after(() => daemon.dispose());
  return daemon;
}

/** Waits for a successful run of `beat`, then stops the daemon, which must exit 0. */
async function beatThenStop(daemon: DaemonProcess): Promise<void> {
  await daemon.waitFor(/run succeeded\s+task=beat/);
  daemon.kill("SIGTERM");
  assert.equal(await ended(daemon), 0, daemon.output);
}

describe("secrets stay secret", () => {
  it("keeps the daemon's secrets out of tasks, and redacts known secrets from output, history, logs and files", async (t) => {
    const dir = tempDir();
    const key = randomBytes(32);
    const keyText = key.toString("base64");
    const token = randomBytes(24).toString("base64url");
    const apiSecret = "api-secret-7e1f0c9a";
    const shortValue = "short12";
    const secrets = [keyText, key.toString("hex"), token, apiSecret];

    const server = createServer((request, response) => {
      response.end(`echo ${String(request.headers["x-api-key"])}`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    const echoUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo`;

    writeFileSync(
      join(dir, "probe.mjs"),
      "export default () => ({ token: process.env.ORCHESTRATOR_TOKEN ?? null, " +
        "key: process.env.ORCHESTRATOR_ENCRYPTION_KEY ?? null, path: typeof process.env.PATH });\n",
    );
    const printAll =
      "for (const v of [process.env.T, process.env.K, Buffer.from(process.env.K, 'base64').toString('hex'), process.env.A, process.env.S]) console.log(v)";
    writeFileSync(
      join(dir, SCHEDULE),
      "tasks:\n" +
        everySecond(
          "leak",
          // Only the variables about the run: none of the daemon's own.
          argv("sh", "-c", "env | grep ^ORCHESTRATOR | cut -d= -f1 | sort | tr '\\n' ' '"),
        ) +
        everySecond("named", argv(process.execPath, "-e", printAll)) +
        env({
          T: "${ORCHESTRATOR_TOKEN}",
          K: "${ORCHESTRATOR_ENCRYPTION_KEY}",
          A: "${API_SECRET}",
          S: "${SHORT_VALUE}",
        }) +
        everySecond("failing", argv("sh", "-c", 'echo "denied for $T" >&2; exit 1')) +
        env({ T: "${ORCHESTRATOR_TOKEN}" }) +
        everySecond("probe", "    module:\n      path: ./probe.mjs\n") +
        everySecond(
          "web",
          `    http:\n      url: ${echoUrl}\n      headers:\n        X-Api-Key: "\${API_SECRET}"\n`,
        ),
    );
    const daemon = underOpenUmask(
      () =>
        new DaemonProcess([SCHEDULE, "--http", "127.0.0.1:0"], {
          cwd: dir,
          env: {
            ORCHESTRATOR_ENCRYPTION_KEY: keyText,
            ORCHESTRATOR_TOKEN: token,
            API_SECRET: apiSecret,
            SHORT_VALUE: shortValue,
          },
        }),
    );
    t.after(() => daemon.dispose());
    for (const task of ["leak", "named", "probe", "web"]) {
      await daemon.waitFor(new RegExp(`run succeeded\\s+task=${task}\\b`));
    }
    await daemon.waitFor(/run failed\s+task=failing\b/);

    // The database and its WAL files are private to the daemon's user, whatever the umask.
    const db = join(dir, "orchestrator.db");
    for (const file of [db, `${db}-wal`, `${db}-shm`]) assert.equal(modeOf(file), "600", file);
    const files = (): Buffer[] =>
      [db, `${db}-wal`].filter((file) => existsSync(file)).map((file) => readFileSync(file));
    const running = files();

    daemon.kill("SIGTERM");
    assert.equal(await ended(daemon), 0, daemon.output);
    for (const bytes of [...running, ...files()]) {
      for (const secret of secrets)
        assert.equal(bytes.includes(secret), false, "a file holds a secret");
    }
    for (const secret of secrets) assert.ok(!daemon.output.includes(secret), daemon.output);

    const history = cli(["history", "--json", "--limit", "200"], {
      cwd: dir,
      env: { ORCHESTRATOR_ENCRYPTION_KEY: keyText },
    });
    assert.equal(history.code, 0, history.stderr);
    for (const secret of secrets) assert.ok(!history.stdout.includes(secret), history.stdout);
    const runs = JSON.parse(history.stdout) as {
      taskName: string;
      error: { message: string } | null;
      output:
        ({ stdout?: string; stderr?: string; body?: string } & Record<string, unknown>) | null;
    }[];
    const last = (task: string): (typeof runs)[number] => {
      const run = runs.find((r) => r.taskName === task);
      assert.ok(run, `no run of ${task} in ${history.stdout}`);
      return run;
    };
    assert.equal(
      last("leak").output?.stdout,
      "ORCHESTRATOR_ATTEMPT ORCHESTRATOR_FENCING_TOKEN ORCHESTRATOR_NODE_ID ORCHESTRATOR_SCHEDULED_AT ORCHESTRATOR_TASK_NAME ",
    );
    // A task that names a secret in its env gets it, but its output does not keep it.
    assert.equal(
      last("named").output?.stdout,
      `[REDACTED]\n[REDACTED]\n[REDACTED]\n[REDACTED]\n${shortValue}\n`,
    );
    assert.equal(last("failing").output?.stderr, "denied for [REDACTED]\n");
    assert.match(last("failing").error?.message ?? "", /denied for \[REDACTED\]/);
    assert.deepEqual(last("probe").output, { token: null, key: null, path: "string" });
    assert.equal(last("web").output?.body, "echo [REDACTED]");
  });

  it("creates the key file 0600 whatever the umask, and tightens database files others could read", async (t) => {
    const dir = beatDir();
    const first = underOpenUmask(() => start(t, dir));
    await first.waitFor(/run succeeded\s+task=beat/);
    const db = join(dir, "orchestrator.db");
    for (const file of [db, `${db}-wal`, `${db}-shm`, `${db}.key`]) {
      assert.equal(modeOf(file), "600", file);
    }
    await beatThenStop(first);

    // A database left readable by an older version is tightened, with a warning.
    chmodSync(db, 0o644);
    const again = start(t, dir);
    await again.waitFor(/tightened the mode of a database file.*was=0644/);
    assert.equal(modeOf(db), "600");
    await beatThenStop(again);
  });

  it(
    "refuses to start when the key file is gone but the database holds sealed records, naming the key id",
    EXIT_TIMEOUT,
    async (t) => {
      const dir = beatDir();
      await beatThenStop(start(t, dir));
      const keyFile = join(dir, "orchestrator.db.key");
      const keyText = readFileSync(keyFile, "utf8");
      const keyId = deriveKeyId(parseKeyMaterial(keyText, "key file"));
      unlinkSync(keyFile);

      const missing = start(t, dir);
      assert.equal(await ended(missing), 2, missing.output);
      assert.match(missing.output, new RegExp(`key id ${keyId}`));
      assert.ok(missing.output.includes(keyFile), missing.output);
      assert.match(missing.output, /ORCHESTRATOR_ENCRYPTION_KEY/);
      assert.equal(existsSync(keyFile), false, "a new key file was created");

      // With the key restored, the task opens as it was: nothing was quarantined or re-sealed.
      writeFileSync(keyFile, keyText, { mode: 0o600 });
      const restored = start(t, dir);
      await restored.waitFor(/schedule applied: 0 added, 0 changed, 0 removed, 1 unchanged/);
      await beatThenStop(restored);
      assert.ok(!restored.output.includes("quarantined"), restored.output);
    },
  );

  it(
    "refuses a key file other users can read, with the chmod that fixes it",
    EXIT_TIMEOUT,
    async (t) => {
      const dir = beatDir();
      const keyFile = join(dir, "orchestrator.db.key");
      writeFileSync(keyFile, `${randomBytes(32).toString("base64")}\n`);
      chmodSync(keyFile, 0o644);
      const daemon = start(t, dir);
      assert.equal(await ended(daemon), 2, daemon.output);
      assert.ok(daemon.output.includes(`chmod 600 ${keyFile}`), daemon.output);
      assert.equal(existsSync(join(dir, "orchestrator.db")), false);
    },
  );

  it(
    "refuses a dashboard token shorter than 32 characters on a non-loopback address",
    EXIT_TIMEOUT,
    async (t) => {
      const dir = beatDir();
      const shortToken = "only-20-characters!!";
      const exposed = start(t, dir, ["--http", "0.0.0.0:0"], { ORCHESTRATOR_TOKEN: shortToken });
      assert.equal(await ended(exposed), 2, exposed.output);
      assert.match(exposed.output, /ORCHESTRATOR_TOKEN.*at least 32 characters.*20 characters/);
      assert.ok(!exposed.output.includes(shortToken), exposed.output);

      const local = start(t, dir, ["--http", "127.0.0.1:0"], { ORCHESTRATOR_TOKEN: shortToken });
      await local.waitFor(/dashboard listening/);
      await beatThenStop(local);
    },
  );

  it("never writes the login link into JSON logs", async (t) => {
    const daemon = start(t, beatDir(), ["--log-format", "json", "--http", "127.0.0.1:0"]);
    await daemon.waitFor(/dashboard token was generated and is not logged/);
    await daemon.waitFor(/"run succeeded"/);
    daemon.kill("SIGTERM");
    assert.equal(await ended(daemon), 0, daemon.output);
    assert.ok(!/login#|token=|loginUrl/.test(daemon.output), daemon.output);
  });
});
