import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { DaemonProcess } from "./daemon-process.js";

// Issue 13, item 5: 10,000–21,000 connections sending partial headers took the
// daemon to its descriptor limit; command runs then failed with
// `spawn sh EMFILE` and /healthz went silent. Here the daemon runs under
// `ulimit -n 256` and the test holds 400 such connections (bounded, closed at the end).

const DESCRIPTOR_LIMIT = 256;
const FLOOD = 400;

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Opens a connection that sends half a request and waits; resolves once connected (or failed). */
function halfOpen(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    socket.once("connect", () => {
      socket.write("GET /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      resolve(socket);
    });
    socket.once("close", () => resolve(socket));
  });
}

/** GET `path` on a connection of its own (as health probes do); resolves with the status. */
function status(url: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = get(`${url}${path}`, { agent: false, timeout: 20_000, headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on("timeout", () => request.destroy(new Error(`${path} did not answer in 20 s`)));
    request.on("error", reject);
  });
}

describe("orchestrator run --http under a connection flood", () => {
  it("keeps running commands and answering /healthz while half-open connections pile up", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "orchestrator-abuse-"));
    dirs.push(dir);
    writeFileSync(
      join(dir, "schedule.yaml"),
      `tasks:\n  - name: tick\n    every: 1s\n    command: ["true"]\n`,
    );
    const daemon = new DaemonProcess(
      ["schedule.yaml", "--http", "127.0.0.1:0", "--http-allowed-host", "dash.example"],
      {
        cwd: dir,
        descriptorLimit: DESCRIPTOR_LIMIT,
      },
    );
    const sockets: Socket[] = [];
    t.after(async () => {
      for (const socket of sockets) socket.destroy();
      await daemon.dispose();
    });
    const listening = await daemon.waitFor(/dashboard listening/);
    const url = /url=(\S+)/.exec(listening.line)?.[1] ?? "";
    const port = Number(new URL(url).port);
    await daemon.waitFor(/run succeeded\s+task=tick/);
    // Item 7 through the CLI: another site's name is refused, the allowed one is not.
    assert.equal(await status(url, "/api/tasks", { Host: `evil.example:${port}` }), 421);
    assert.equal(await status(url, "/api/tasks", { Host: `dash.example:${port}` }), 401);

    // The flood, in batches; /healthz must answer between them.
    for (let batch = 0; batch < 4; batch++) {
      sockets.push(...(await Promise.all(Array.from({ length: FLOOD / 4 }, () => halfOpen(port)))));
      assert.equal(await status(url, "/healthz"), 200, `after ${sockets.length} connections`);
    }
    // Still holding them: the next runs of the command must succeed.
    const from = daemon.lines.length;
    const results: string[] = [];
    let index = from;
    while (results.length < 3) {
      const next = await daemon.waitFor(/run (succeeded|failed)\s+task=tick/, index);
      results.push(next.line);
      index = next.index + 1;
    }
    assert.ok(
      results.every((line) => /run succeeded/.test(line)),
      `runs failed during the flood:\n${daemon.lines.slice(from).join("\n")}`,
    );
    assert.doesNotMatch(daemon.lines.join("\n"), /EMFILE/);
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
  });
});
