/**
 * The task page's run history in Chromium: a row per run, expanded to its
 * output tails, exit code, error and stack; hostile output shown as text (no
 * markup from it, ANSI colours as classed spans, other escapes dropped);
 * older runs on demand; the status filter; cancelling a running run.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { ActionFailedError } from "../../src/errors.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { startHttpServer, type HttpServer } from "../../src/http/server.js";
import { browserMissing, logIn, openBrowser } from "../helpers/browser.js";

const TOKEN = "run-output-browser-token-3b9f";
const HOSTILE =
  '<img src=x onerror="window.__pwned=1">\u001b[31mred\u001b[0m \u001b[1mbold\u001b[0m\u001b]0;title\u0007\u001b[2Jtail\n';

describe("the task page's run output in Chromium", { skip: browserMissing() }, () => {
  let close: () => Promise<void>;
  let server: HttpServer;
  let scheduler: Scheduler;
  let page: Page;
  let errors: string[];
  let longStarted = (): void => {};

  before(async () => {
    const dispatcher = new Dispatcher();
    scheduler = new Scheduler(dispatcher, { timezone: "UTC", logger: silentLogger });
    let calls = 0;
    await scheduler.registerTask("cmd", "0 3 * * *", () => {
      calls++;
      if (calls === 1) {
        throw new ActionFailedError("exit", "cmd exited with code 7", {
          exitCode: 7,
          stdout: HOSTILE,
          stderr: "\u001b[33mwarning\u001b[0m: <b>not bold</b>\n",
        });
      }
      return { exitCode: 0, stdout: `run ${calls}\n`, stderr: "" };
    });
    await scheduler.registerTask(
      "long",
      "0 3 * * *",
      (ctx) =>
        new Promise<void>((_, reject) => {
          longStarted();
          ctx.signal.addEventListener("abort", () => reject(new Error("stopped by the signal")));
        }),
    );
    // 1 failed run, then 55 that succeeded: two pages of 50.
    for (let i = 0; i < 56; i++) await scheduler.triggerTask("cmd");
    server = await startHttpServer({ scheduler, port: 0, token: TOKEN });
    const opened = await openBrowser();
    page = opened.page;
    errors = opened.errors;
    close = async () => {
      await opened.browser.close();
      await server.close();
      await scheduler.stop();
      await dispatcher.close();
    };
    await logIn(page, server.url, TOKEN);
  });

  after(() => close?.());

  /** Waits until the history shows exactly `n` rows (locators: the CSP forbids waitForFunction's evaluation). */
  const rowsShown = async (n: number) => {
    const rows = page.locator("#history tbody tr");
    for (;;) {
      if (n > 0) await rows.nth(n - 1).waitFor();
      await rows.nth(n).waitFor({ state: "detached" });
      if ((await rows.count()) === n) return;
    }
  };

  it("shows 50 runs, and older ones on demand", async () => {
    await page.goto(new URL("/tasks/cmd", server.url).href);
    await rowsShown(50);
    const older = page.locator("#older-runs");
    await older.waitFor();
    await older.click();
    await rowsShown(56);
    await older.waitFor({ state: "hidden" });
    const summary = page.locator("#history tbody tr").first().locator("summary");
    assert.equal(await summary.textContent(), "exit 0: run 56");
  });

  it("expands a failed run: exit code, error, stack and output, safe and coloured", async () => {
    const row = page.locator("#history tbody tr").last();
    const summary = row.locator("summary");
    assert.equal(await summary.textContent(), "exit 7: cmd exited with code 7");
    await summary.click();
    const stdout = row.locator("pre.stdout");
    await stdout.waitFor();
    assert.equal(
      await stdout.textContent(),
      '<img src=x onerror="window.__pwned=1">red boldtail\n',
    );
    assert.equal(await row.locator("img").count(), 0, "no markup from output");
    assert.equal(await stdout.locator("span.ansi-fg-1").textContent(), "red");
    assert.equal(await stdout.locator("span.ansi-bold").textContent(), "bold");
    const stderr = row.locator("pre.stderr");
    assert.equal(await stderr.locator("span.ansi-fg-3").textContent(), "warning");
    assert.equal(await stderr.locator("b").count(), 0);
    assert.match((await row.locator("dl.run-facts").textContent()) ?? "", /Exit code7Attempt1/);
    assert.match(
      (await row.locator("pre.error-text").textContent()) ?? "",
      /cmd exited with code 7/,
    );
    assert.match((await row.locator("pre").nth(1).textContent()) ?? "", /ActionFailedError/);
    // Still open after a refresh (an event, here a trigger of another task).
    await scheduler.triggerTask("cmd");
    await rowsShown(57);
    assert.equal(
      await page.locator("#history tbody tr").last().locator("details[open]").count(),
      1,
    );
    assert.equal(await page.locator("#history tbody tr").last().locator("pre.stdout").count(), 1);
  });

  it("filters by status", async () => {
    await page.selectOption("#history-status", "failed");
    await rowsShown(1);
    assert.match((await page.locator("#history tbody tr").first().textContent()) ?? "", /failed/);
    await page.selectOption("#history-status", "cancelled");
    await page.locator("#history tbody td", { hasText: "No cancelled runs." }).waitFor();
    await page.selectOption("#history-status", "");
    await rowsShown(50);
  });

  it("cancels a running run from the page", async () => {
    const started = new Promise<void>((resolve) => (longStarted = resolve));
    await page.goto(new URL("/tasks/long", server.url).href);
    await page.locator("#history tbody td", { hasText: "No runs yet." }).waitFor();
    const run = scheduler.triggerTask("long");
    await started;
    const cancel = page.locator("#cancel-run");
    await cancel.waitFor();
    await cancel.click();
    await run;
    await page.locator("#history tbody .badge.status-cancelled").waitFor();
    await cancel.waitFor({ state: "hidden" });
    assert.match((await page.locator("#status").textContent()) ?? "", /Cancelled 1 run of long/);
    assert.equal((await scheduler.history("long"))[0]?.status, "cancelled");
    assert.deepEqual(errors, []);
  });
});
