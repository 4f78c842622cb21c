/**
 * Issue 16, item 4: the daemon pings an outside heartbeat URL while it is
 * healthy, and stops while its store is unusable (here: another connection
 * holds the SQLite write lock), so that a monitor notices. A real daemon, a
 * real SQLite file, a local HTTP receiver; every wait is for a log line, a
 * ping or a metric.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { waitFor } from "../helpers/pg.js";
import { DaemonProcess, WAIT_MS, cli, tempDirs } from "./daemon-process.js";

const tempDir = tempDirs("orchestrator-heartbeat");
const WAIT = { timeoutMs: WAIT_MS, intervalMs: 50 };
const SECRET = "hc-0123456789abcdef-secret";
const TOKEN = "heartbeat-test-token-0123456789";

interface Receiver {
  readonly server: Server;
  readonly url: string;
  readonly pings: { method: string; path: string; body: string }[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const pings: Receiver["pings"] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      pings.push({ method: request.method ?? "", path: request.url ?? "", body });
      response.end("OK");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    pings,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("orchestrator run: heartbeat", () => {
  it("pings while healthy, stops while the store is unusable, resumes after; the URL's secret is never logged", async (t) => {
    const receiver = await startReceiver();
    t.after(() => receiver.close());
    const dir = tempDir();
    writeFileSync(
      join(dir, "schedule.yaml"),
      `heartbeat:
  url: "${receiver.url}/ping/\${HB_KEY}"
  every: 1s
  method: POST
tasks:
  - name: tick
    schedule: "*/1 * * * * *"
    command: ["true"]
`,
    );
    const daemon = new DaemonProcess(["schedule.yaml", "--http", "127.0.0.1:0"], {
      cwd: dir,
      env: { HB_KEY: SECRET, ORCHESTRATOR_TOKEN: TOKEN },
    });
    t.after(() => daemon.dispose());
    const listening = await daemon.waitFor(/dashboard listening/);
    const dashboard = /url=(\S+)/.exec(listening.line)?.[1] ?? "";
    const metrics = async (): Promise<string> =>
      (
        await fetch(`${dashboard}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).text();

    await daemon.waitFor(/heartbeat: pinging while the scheduler is healthy/);
    await waitFor("two pings", () => receiver.pings.length >= 2, WAIT);
    const first = receiver.pings[0];
    assert.equal(first?.method, "POST");
    assert.equal(first?.path, `/ping/${SECRET}`);
    assert.match(first?.body ?? "", /^orchestrator \S+ node \S+: 1 tasks$/);
    await daemon.waitFor(/heartbeat sent/);

    // Another connection takes the write lock and keeps it: claims fail, the store is unusable.
    const db = new Database(join(dir, "orchestrator.db"));
    t.after(() => {
      if (db.open) db.close();
    });
    db.exec("BEGIN IMMEDIATE");
    const notSent = await daemon.waitFor(/heartbeat not sent: the store is unusable \(locked\)/);
    // The ping before the skip was answered before it (one ping at a time): the count is final.
    const before = receiver.pings.length;
    await waitFor(
      "three heartbeats skipped",
      async () =>
        (sample(await metrics(), 'orchestrator_heartbeats_total{outcome="skipped"}') ?? 0) >= 3,
      WAIT,
    );
    const text = await metrics();
    assert.equal(sample(text, "orchestrator_store_up"), 0, text);
    assert.equal(receiver.pings.length, before, "no ping while the store is unusable");

    db.exec("COMMIT");
    db.close();
    await daemon.waitFor(/heartbeat sent again after \d+ skipped/, notSent.index);
    await waitFor("a ping again", () => receiver.pings.length > before, WAIT);
    assert.equal(sample(await metrics(), "orchestrator_store_up"), 1);
    assert.ok((sample(await metrics(), 'orchestrator_heartbeats_total{outcome="sent"}') ?? 0) >= 3);

    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
    assert.ok(!daemon.output.includes(SECRET), daemon.output);
    assert.match(daemon.output, new RegExp(`url=${receiver.url.replace(/\./g, "\\.")}(\\s|$)`));
  });

  it("a receiver that fails or does not answer is logged once per streak and never stops the daemon", async (t) => {
    const receiver = await startReceiver();
    t.after(() => receiver.close());
    let status = 500;
    receiver.server.removeAllListeners("request");
    receiver.server.on("request", (request, response) => {
      receiver.pings.push({ method: request.method ?? "", path: request.url ?? "", body: "" });
      response.statusCode = status;
      response.end();
    });
    const dir = tempDir();
    writeFileSync(
      join(dir, "schedule.yaml"),
      `tasks:\n  - name: tick\n    schedule: "*/1 * * * * *"\n    command: ["true"]\n`,
    );
    const daemon = new DaemonProcess(
      ["schedule.yaml", "--heartbeat-url", `${receiver.url}/hb`, "--heartbeat-every", "1s"],
      { cwd: dir },
    );
    t.after(() => daemon.dispose());
    const failed = await daemon.waitFor(/heartbeat failed: answered HTTP 500/);
    await waitFor("three failing pings", () => receiver.pings.length >= 3, WAIT);
    await daemon.waitFor(/run succeeded\s+task=tick/, failed.index);
    status = 200;
    await daemon.waitFor(/heartbeat sent again after \d+ failed/, failed.index);
    assert.equal(daemon.lines.filter((line) => /heartbeat failed/.test(line)).length, 1);
    assert.equal(receiver.pings[0]?.method, "GET");
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
  });

  it("refuses bad heartbeat input with the field and what is allowed", () => {
    const dir = tempDir();
    const tasks = `tasks:\n  - name: tick\n    schedule: "* * * * *"\n    command: ["true"]\n`;
    writeFileSync(
      join(dir, "bad.yaml"),
      `heartbeat:\n  url: "ftp://example.com/x"\n  every: "0s"\n  methd: GET\n${tasks}`,
    );
    const bad = cli(["validate", "bad.yaml"], { cwd: dir });
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    const out = bad.stdout + bad.stderr;
    assert.match(out, /`heartbeat\.url` must be an http:\/\/ or https:\/\/ URL/);
    assert.match(out, /`heartbeat\.every` must be a duration such as "30s", "1m" or "5m"/);
    assert.match(out, /unknown key `methd` in `heartbeat` \(did you mean `method`\?\)/);

    const flag = cli(["run", "--heartbeat-url", "hc-ping.com/x"], { cwd: dir });
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /Expected `--heartbeat-url` to be an http:\/\/ or https:\/\/ URL/);
    const every = cli(["run", "--heartbeat-every", "1m"], { cwd: dir });
    assert.equal(every.code, 2);
    assert.match(every.stderr, /`--heartbeat-every` to be used together with --heartbeat-url/);

    writeFileSync(join(dir, "unset.yaml"), `heartbeat:\n  url: "\${HB_URL}"\n${tasks}`);
    const unset = cli(["run", "unset.yaml"], { cwd: dir, env: { HB_URL: undefined } });
    assert.equal(unset.code, 2, unset.stdout + unset.stderr);
    assert.match(unset.stderr, /HB_URL/);
    const wrong = cli(["run", "unset.yaml"], { cwd: dir, env: { HB_URL: "not a url" } });
    assert.equal(wrong.code, 2, wrong.stdout + wrong.stderr);
    assert.match(wrong.stderr, /\$\{HB_URL\} resolved to something else/);
    assert.doesNotMatch(wrong.stderr, /not a url/);
  });
});
