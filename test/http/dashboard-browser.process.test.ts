import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { parseCron } from "../../src/cron/index.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { startHttpServer, type HttpServer } from "../../src/http/server.js";
import { browserMissing, openBrowser } from "../helpers/browser.js";

const TOKEN = "browser-test-token-4f9a1c";
const README_SCREENSHOT = join(dirname(fileURLToPath(import.meta.url)), "../../docs/dashboard.png");
/**
 * The README's screenshot is (re)written when missing or with UPDATE_SCREENSHOTS=1; other runs
 * write to the temp dir, so that running the tests leaves the checkout clean.
 */
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOTS === "1" || !existsSync(README_SCREENSHOT)
    ? README_SCREENSHOT
    : join(tmpdir(), `orchestrator-dashboard-${process.pid}.png`);

/** Stands in for a task's work: waits `ms` (the task's duration, not a wait in the test). */
function work(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("dashboard in Chromium", { skip: browserMissing() }, () => {
  let browser: Browser;
  let server: HttpServer;
  let scheduler: Scheduler;
  let dispatcher: Dispatcher;
  let page: Page;
  let pageErrors: string[] = [];

  before(async () => {
    dispatcher = new Dispatcher();
    scheduler = new Scheduler(dispatcher, { timezone: "UTC", logger: silentLogger });
    let round = 0;
    await scheduler.registerTask(
      "nightly-backup",
      "30 2 * * *",
      () => work([120, 90, 150, 110, 240, 130, 100, 160][round++ % 8] ?? 100),
      {
        timezone: "Europe/Berlin",
      },
    );
    await scheduler.registerTask(
      "weekday-report",
      "0 9 * * MON-FRI",
      () => work(20 + (round++ % 3) * 15),
      {
        timezone: "America/New_York",
      },
    );
    await scheduler.registerTask("cache-refresh", { every: "5m" }, () => work(5));
    await scheduler.registerTask("sync-invoices", "*/15 8-18 * * *", () => {
      throw new Error("Upstream answered 503 Service Unavailable");
    });
    for (let i = 0; i < 8; i++) await scheduler.triggerTask("nightly-backup");
    for (let i = 0; i < 5; i++) await scheduler.triggerTask("weekday-report");
    await scheduler.triggerTask("sync-invoices");
    server = await startHttpServer({ scheduler, port: 0, token: TOKEN });
    const opened = await openBrowser();
    browser = opened.browser;
    page = opened.page;
    pageErrors = opened.errors;
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await scheduler?.stop();
    await dispatcher?.close();
  });

  it("redirects to the login page, then logs in with the token", async () => {
    await page.goto(`${server.url}/tasks/nightly-backup`);
    assert.equal(new URL(page.url()).pathname, "/login");
    await page.getByLabel("Access token").fill("wrong");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").waitFor();
    assert.match((await page.getByRole("alert").textContent()) ?? "", /not right/);
    await page.goto(`${server.url}/`);
    await page.getByLabel("Access token").fill(TOKEN);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(`${server.url}/`);
  });

  it("lists the tasks with their schedules in words", async () => {
    const row = page.locator('tr[data-task="nightly-backup"]');
    await row.waitFor();
    const text = (await row.textContent()) ?? "";
    assert.match(text, /30 2 \* \* \*/);
    assert.ok(text.includes(parseCron("30 2 * * *").describe()), text);
    assert.match(text, /Europe\/Berlin/);
    assert.match(text, /succeeded/);
    assert.equal(await row.locator("svg.spark").count(), 1);
    const failing = (await page.locator('tr[data-task="sync-invoices"]').textContent()) ?? "";
    assert.match(failing, /failed/);
    await page.getByText("Live", { exact: true }).waitFor();
  });

  it("takes a screenshot for the README", async () => {
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(statSync(SCREENSHOT).size > 10_000);
    if (SCREENSHOT !== README_SCREENSHOT) rmSync(SCREENSHOT);
  });

  it("opens a task, triggers it and sees the run appear in the history", async () => {
    await page.getByRole("link", { name: "cache-refresh" }).click();
    await page.waitForURL(`${server.url}/tasks/cache-refresh`);
    await page.getByRole("heading", { name: "cache-refresh", level: 1 }).waitFor();
    await page.getByText("No runs yet.").waitFor();
    await page.getByRole("button", { name: "Trigger cache-refresh" }).click();
    const run = page.locator("#history tr.run").first();
    await run.waitFor();
    await run.getByText("succeeded").waitFor();
    assert.equal(await page.locator("#history tr.run").count(), 1);
    assert.equal(scheduler.getTask("cache-refresh")?.runCount, 1);
  });

  it("shows a failed run's error", async () => {
    await page.goto(`${server.url}/tasks/sync-invoices`);
    const summary = page.locator("#history details summary").first();
    await summary.waitFor();
    assert.match((await summary.textContent()) ?? "", /503 Service Unavailable/);
  });

  it("pauses and resumes from the keyboard, and the state follows", async () => {
    await page.goto(`${server.url}/tasks/cache-refresh`);
    const state = page.locator("dl.facts .badge[class*='state-']");
    await state.getByText("active").waitFor();
    // `disabled: false` also waits out aria-disabled, which the page sets while an action is in flight.
    const pause = page.getByRole("button", { name: "Pause cache-refresh", disabled: false });
    await pause.waitFor();
    await pause.focus();
    await page.keyboard.press("Enter");
    await state.getByText("paused").waitFor();
    assert.equal(scheduler.getTask("cache-refresh")?.state, "paused");
    const resume = page.getByRole("button", { name: "Resume cache-refresh", disabled: false });
    await resume.waitFor();
    // The same button, relabelled: focus stays where it was.
    const focused = await resume.evaluate(
      (el) =>
        el ===
        (el as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument
          .activeElement,
    );
    assert.equal(focused, true);
    await page.keyboard.press("Enter");
    await state.getByText("active").waitFor();
    assert.equal(scheduler.getTask("cache-refresh")?.state, "active");
  });

  it("updates live when a run happens elsewhere", async () => {
    await page.goto(`${server.url}/tasks/weekday-report`);
    await page.getByText("Live", { exact: true }).waitFor();
    const runs = page.locator("#history tr.run");
    await runs.first().waitFor();
    const before = await runs.count();
    await scheduler.triggerTask("weekday-report");
    await page.locator(`#history tr.run >> nth=${before}`).waitFor();
    assert.equal(await runs.count(), before + 1);
  });

  it("logs out", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(`${server.url}/login`);
    await page.goto(`${server.url}/`);
    assert.equal(new URL(page.url()).pathname, "/login");
  });

  it("logs in from the printed login link, dropping the token from the address bar", async () => {
    const context = await browser.newContext();
    try {
      const fresh = await context.newPage();
      await fresh.goto(server.loginUrl);
      await fresh.waitForURL(`${server.url}/`);
      await fresh.locator('tr[data-task="nightly-backup"]').waitFor();
      assert.doesNotMatch(fresh.url(), /token/);
    } finally {
      await context.close();
    }
  });

  it("raised no script errors or CSP violations", () => {
    assert.deepEqual(
      pageErrors.filter((text) => !/401 \(Unauthorized\)/.test(text)),
      [],
    );
  });
});
