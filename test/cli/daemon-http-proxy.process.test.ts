/**
 * Behind a TLS-terminating reverse proxy, the browser's pages are https: with
 * `--http-trust-proxy` the daemon believes the proxy's X-Forwarded-Proto, so
 * a login from an https page works (and gets a Secure cookie); without it the
 * same request is refused as cross-origin.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DaemonProcess, tempDirs } from "./daemon-process.js";

const tempDir = tempDirs("orchestrator-proxy");
const TOKEN = "a-test-token-that-is-long-enough-0123456789";

async function loginThroughProxy(flags: string[]): Promise<Response> {
  const dir = tempDir();
  writeFileSync(join(dir, "schedule.yaml"), "tasks: []\n");
  const daemon = new DaemonProcess(["schedule.yaml", "--http", "127.0.0.1:0", ...flags], {
    cwd: dir,
    env: { ORCHESTRATOR_TOKEN: TOKEN },
  });
  try {
    const listening = await daemon.waitFor(/dashboard listening/);
    const url = /url=(\S+)/.exec(listening.line)?.[1];
    assert.ok(url, listening.line);
    return await fetch(`${url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Forwarded-Proto": "https",
        Origin: `https://${new URL(url).host}`,
      },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
  } finally {
    daemon.kill("SIGTERM");
    await daemon.exited;
  }
}

describe("orchestrator run --http-trust-proxy", () => {
  it("accepts a login from an https page behind the proxy, with a Secure cookie", async () => {
    const response = await loginThroughProxy(["--http-trust-proxy"]);
    assert.equal(response.status, 303);
    assert.match(response.headers.get("set-cookie") ?? "", /^__Host-orchestrator_session=.*Secure/);
  });

  it("without the flag, the same login is refused", async () => {
    const response = await loginThroughProxy([]);
    assert.equal(response.status, 403);
  });
});
