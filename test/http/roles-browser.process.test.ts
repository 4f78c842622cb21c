import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { startHttpServer, type HttpServer } from "../../src/http/server.js";

// Issue 13, item 21 in a real browser: a read-only session is offered no
// action, and an admin's action shows up in the task page's audit log.

const CHROMIUM = "/usr/bin/chromium";
const ADMIN_TOKEN = "browser-admin-token-71c2e0";
const READ_TOKEN = "browser-read-token-5b8d94";

const missing = !existsSync(CHROMIUM);
if (missing) {
  const message = `${CHROMIUM} is missing: install Debian's chromium to run the dashboard browser test`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`SKIPPED: ${message}`);
}

function fingerprint(token: string): string {
  return createHash("sha256").update(token).digest("hex").slice(0, 8);
}

describe(
  "dashboard roles in Chromium",
  { skip: missing ? `${CHROMIUM} is missing` : false },
  () => {
    let browser: Browser;
    let server: HttpServer;
    let scheduler: Scheduler;
    let dispatcher: Dispatcher;
    const contexts: BrowserContext[] = [];
    const pageErrors: string[] = [];

    async function loggedIn(token: string): Promise<Page> {
      const context = await browser.newContext({ locale: "en-GB", timezoneId: "UTC" });
      contexts.push(context);
      const page = await context.newPage();
      page.on("pageerror", (error) => pageErrors.push(error.message));
      page.on("console", (message) => {
        if (message.type() === "error") pageErrors.push(message.text());
      });
      await page.goto(`${server.url}/login`);
      await page.getByLabel("Access token").fill(token);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL(`${server.url}/`);
      return page;
    }

    before(async () => {
      dispatcher = new Dispatcher();
      scheduler = new Scheduler(dispatcher, { timezone: "UTC", logger: silentLogger });
      await scheduler.registerTask("nightly-backup", "30 2 * * *", () => {});
      await scheduler.registerTask("cache-refresh", { every: "5m" }, () => {});
      server = await startHttpServer({
        scheduler,
        port: 0,
        token: ADMIN_TOKEN,
        readOnlyToken: READ_TOKEN,
      });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
      });
    });

    after(async () => {
      for (const context of contexts) await context.close().catch(() => {});
      await browser?.close();
      await server?.close();
      await scheduler?.stop();
      await dispatcher?.close();
    });

    it("a read-only session sees the tasks but no action button, on the list and the task page", async () => {
      const page = await loggedIn(READ_TOKEN);
      await page.locator('tr[data-task="nightly-backup"]').waitFor();
      await page.getByText("Read-only", { exact: true }).waitFor();
      assert.equal(await page.locator("table#tasks thead th").count(), 7, "no Actions column");
      // Paging is not an action.
      assert.equal(await page.locator("main button:not(#page-previous, #page-next)").count(), 0);

      await page.goto(`${server.url}/tasks/nightly-backup`);
      await page.getByRole("heading", { name: "nightly-backup", level: 1 }).waitFor();
      await page.getByText("No actions recorded yet.").waitFor();
      // Loading older runs or a run's whole output is not an action.
      assert.equal(await page.locator("main button:not(#older-runs, .whole)").count(), 0);
      for (const name of ["Trigger", "Pause", "Resume", "Cancel"]) {
        assert.equal(await page.getByRole("button", { name: new RegExp(name) }).count(), 0, name);
      }
    });

    it("an admin's pause appears in the task page's audit log, for the admin and the read-only session", async () => {
      const admin = await loggedIn(ADMIN_TOKEN);
      assert.equal(await admin.getByText("Read-only", { exact: true }).count(), 0);
      await admin.goto(`${server.url}/tasks/cache-refresh`);
      const pause = admin.getByRole("button", { name: "Pause cache-refresh", disabled: false });
      await pause.waitFor();
      await pause.click();
      await admin.locator("dl.facts .badge.state-paused").waitFor();
      const row = admin.locator("#audit tr.audit-entry").first();
      await row.waitFor();
      const text = (await row.textContent()) ?? "";
      assert.match(text, new RegExp(`admin:${fingerprint(ADMIN_TOKEN)}`));
      assert.match(text, /pause/);
      assert.match(text, /ok/);
      assert.ok(!text.includes(ADMIN_TOKEN));

      const reader = await loggedIn(READ_TOKEN);
      await reader.goto(`${server.url}/tasks/cache-refresh`);
      const seen = reader.locator("#audit tr.audit-entry").first();
      await seen.waitFor();
      assert.match((await seen.textContent()) ?? "", /admin:.*pause/);
      assert.equal(scheduler.getTask("cache-refresh")?.state, "paused");
    });

    it("raised no script errors or CSP violations", () => {
      assert.deepEqual(pageErrors, []);
    });
  },
);
