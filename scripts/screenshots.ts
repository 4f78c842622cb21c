/**
 * `npm run screenshots`: retakes the pictures in docs/ from the real daemon
 * in Chromium (Debian's /usr/bin/chromium). The daemon runs the example
 * schedule plus one task that fails twice and then recovers, notifying a
 * local webhook receiver; the pictures are the task list, a task page with a
 * run's output open, the timeline, and the notification as received.
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM, logIn, openBrowser } from "../test/helpers/browser.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const docs = join(root, "docs");
const TOKEN = "screenshots-token-0123456789abcdef0123";
const WAIT_MS = 120_000;

/** A task that fails on its first two runs and succeeds after, notifying the receiver. */
const DEMO_TASK = `
  - name: nightly-export
    description: Exports yesterday's orders (fails twice, then recovers, for the pictures).
    every: 5s
    command: 'n=$(cat runs 2>/dev/null || echo 0); echo $((n+1)) > runs; echo "exporting batch $n"; if [ "$n" -lt 2 ]; then echo "upstream answered 503" >&2; exit 3; fi'
    shell: true
    notify:
      on: [failure, recovery]
      webhook:
        url: "\${NOTIFY_WEBHOOK_URL}"
`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Collects the webhook notifications the daemon sends. */
function startReceiver(): Promise<{ server: Server; url: string; received: unknown[] }> {
  const received: unknown[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    request.on("end", () => {
      try {
        received.push(JSON.parse(body));
      } catch {
        received.push({ text: body });
      }
      response.writeHead(204).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}/notify`, received });
    }),
  );
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The notification as a chat client would show it: its text, in a small card. */
function notificationPage(message: unknown): string {
  const field = (message as { text?: unknown }).text;
  const text = typeof field === "string" ? field : JSON.stringify(message);
  const escape = (value: string) =>
    value.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`).replace(/\n/g, "<br>");
  return `<!doctype html><meta charset="utf-8"><body style="font:15px system-ui;background:#f4f5f7;padding:24px">
<div style="max-width:640px;background:#fff;border-radius:8px;padding:16px 20px;box-shadow:0 1px 3px #0002">
<div style="color:#666;font-size:13px;margin-bottom:8px">Webhook received by the local receiver</div>
<div>${escape(text)}</div>
<pre style="background:#f7f7f9;padding:10px;border-radius:6px;font-size:12px;white-space:pre-wrap">${escape(JSON.stringify(message, null, 2))}</pre>
</div></body>`;
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const dir = mkdtempSync(join(tmpdir(), "orchestrator-screenshots-"));
  cpSync(join(root, "examples/handlers"), join(dir, "handlers"), { recursive: true });
  const example = readFileSync(join(root, "examples/schedule.yaml"), "utf8");
  writeFileSync(join(dir, "schedule.yaml"), example.trimEnd() + "\n" + DEMO_TASK);
  const receiver = await startReceiver();
  const port = await freePort();
  const daemon = spawn(
    process.execPath,
    [
      "--import",
      import.meta.resolve("tsx"),
      join(root, "src/cli/bin.ts"),
      "run",
      "schedule.yaml",
      "--http",
      `127.0.0.1:${port}`,
    ],
    {
      cwd: dir,
      env: { ...process.env, ORCHESTRATOR_TOKEN: TOKEN, NOTIFY_WEBHOOK_URL: receiver.url },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let log = "";
  daemon.stdout.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
  daemon.stderr.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
  const { browser, page } = await openBrowser();
  try {
    await until("the daemon", () => log.includes("orchestrator running"));
    // Two failures, then the recovery: both notifications.
    await until("two notifications", () => receiver.received.length >= 2);
    const url = `http://127.0.0.1:${port}`;
    await logIn(page, url, TOKEN);

    await page.locator('tr[data-task="nightly-export"]').waitFor();
    await page.screenshot({ path: join(docs, "dashboard.png") });

    await page.goto(`${url}/tasks/nightly-export`);
    const firstRun = page.locator("details").first();
    await firstRun.waitFor();
    const failed = page.locator("details", { hasText: "failed" }).first();
    await ((await failed.count()) > 0 ? failed : firstRun).locator("summary").click();
    await page.screenshot({ path: join(docs, "task-page.png"), fullPage: true });

    await page.goto(`${url}/timeline`);
    await page.locator("svg").first().waitFor();
    await page.screenshot({ path: join(docs, "timeline.png"), fullPage: true });

    // A blank page first: the dashboard's CSP would refuse the card's styles.
    await page.goto("about:blank");
    await page.setViewportSize({ width: 760, height: 520 });
    await page.setContent(notificationPage(receiver.received[0]));
    await page.screenshot({ path: join(docs, "notification.png") });
    console.log("wrote docs/dashboard.png, task-page.png, timeline.png, notification.png");
  } catch (error) {
    console.error(log);
    throw error;
  } finally {
    await browser.close();
    daemon.kill("SIGTERM");
    await new Promise((resolve) => daemon.once("exit", resolve));
    receiver.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
