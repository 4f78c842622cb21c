/**
 * The task list at scale, in Chromium: one page of rows at a time, a search
 * by name, filters by state and last status, paging, and the filters kept in
 * the address (a reload or a shared link shows the same list).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { startHttpServer, type HttpServer } from "../../src/http/server.js";
import { browserMissing, logIn, openBrowser } from "../helpers/browser.js";

const TOKEN = "task-list-browser-token-7d1e";
const TASKS = 1_200;

describe("the task list in Chromium", { skip: browserMissing() }, () => {
  let close: () => Promise<void>;
  let server: HttpServer;
  let page: Page;
  let errors: string[];

  before(async () => {
    const dispatcher = new Dispatcher();
    const scheduler = new Scheduler(dispatcher, { timezone: "UTC", logger: silentLogger });
    for (let i = 0; i < TASKS; i++) {
      const name = `${["report", "backup", "sync"][i % 3]}-${String(i).padStart(4, "0")}`;
      await scheduler.registerTask(
        name,
        "0 3 * * *",
        i % 100 === 7
          ? () => {
              throw new Error("boom");
            }
          : () => {},
      );
    }
    for (let i = 7; i < TASKS; i += 100) {
      const name = `${["report", "backup", "sync"][i % 3]}-${String(i).padStart(4, "0")}`;
      await scheduler.triggerTask(name);
    }
    await scheduler.pauseTask("backup-0001");
    await scheduler.pauseTask("backup-0004");
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

  const caption = () => page.locator("#tasks-caption");
  const rowCount = () => page.locator("#tasks tbody tr").count();
  /**
   * Waits until the table shows exactly `n` rows. Through locators, which
   * poll in the page: its CSP forbids the evaluation waitForFunction uses.
   * The count is read again after the waits, so that a list passing through
   * `n` rows on its way elsewhere is not taken for the result.
   */
  const rowsShown = async (n: number) => {
    const rows = page.locator("#tasks tbody tr");
    for (;;) {
      if (n > 0) await rows.nth(n - 1).waitFor();
      await rows.nth(n).waitFor({ state: "detached" });
      if ((await rows.count()) === n) return;
    }
  };
  const captionSays = (text: string) => page.locator("#tasks-caption", { hasText: text }).waitFor();

  it("shows the first page of rows and says how many there are", async () => {
    await page.locator("#tasks tbody tr").first().waitFor();
    assert.equal(await caption().textContent(), `${TASKS} tasks (showing 1–100)`);
    assert.equal(await rowCount(), 100);
    assert.equal(await page.locator("#page-where").textContent(), "Page 1 of 12");
    assert.equal(await page.locator("#page-previous").isDisabled(), true);
  });

  it("pages forward and back", async () => {
    await page.locator("#page-next").click();
    await captionSays("101–200");
    assert.match(page.url(), /offset=100/);
    assert.equal(await rowCount(), 100);
    await page.locator("#page-previous").click();
    await captionSays("1–100");
  });

  it("searches by name, and the search is kept in the address", async () => {
    await page.getByLabel("Search").fill("SYNC-00");
    await rowsShown(33);
    assert.match((await caption().textContent()) ?? "", /1200 tasks, 33 matching/);
    const names = await page.locator("#tasks tbody th").allTextContents();
    assert.ok(
      names.every((name) => name.startsWith("sync-00")),
      names.join(","),
    );
    assert.match(page.url(), /q=SYNC-00/);
    await page.reload();
    await rowsShown(33);
    assert.equal(await page.getByLabel("Search").inputValue(), "SYNC-00");
  });

  it("filters by state and by last status; no match says so", async () => {
    await page.getByLabel("Search").fill("");
    await page.getByLabel("State").selectOption("paused");
    await rowsShown(2);
    assert.deepEqual(await page.locator("#tasks tbody th").allTextContents(), [
      "backup-0001",
      "backup-0004",
    ]);
    await page.getByLabel("State").selectOption("");
    await page.getByLabel("Last status").selectOption("failed");
    await rowsShown(12);
    await page.getByLabel("Search").fill("no-such-task");
    await page.getByText("No task matches the search and filters.").waitFor();
    assert.equal(await rowCount(), 0);
  });

  it("raised no script errors", () => {
    assert.deepEqual(
      errors.filter((text) => !/401 \(Unauthorized\)/.test(text)),
      [],
    );
  });
});
