/**
 * The timeline page in Chromium: reached from the header, one row per task,
 * recent runs as bars coloured by status, the window and zone chosen in a
 * form and kept in the address, daylight-saving marks explained in the chart
 * and in a list, and the same data as tables.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import type { HttpServer } from "../../src/http/server.js";
import { browserMissing, openDashboard } from "../helpers/browser.js";

const TOKEN = "timeline-browser-token-4b2a";

describe("the timeline in Chromium", { skip: browserMissing() }, () => {
  let close: () => Promise<void>;
  let server: HttpServer;
  let page: Page;
  let errors: string[];
  let scheduler: Scheduler;

  before(async () => {
    const dispatcher = new Dispatcher();
    scheduler = new Scheduler(dispatcher, { timezone: "UTC", logger: silentLogger });
    await scheduler.registerTask("nightly", "30 2 * * *", () => {}, {
      timezone: "America/New_York",
    });
    await scheduler.registerTask("quarter", "*/15 * * * *", () => {});
    await scheduler.registerTask("flaky", "0 0 1 1 *", () => {
      throw new Error("boom");
    });
    await scheduler.triggerTask("quarter");
    await scheduler.triggerTask("flaky");
    ({ server, page, errors, close } = await openDashboard(scheduler, dispatcher, TOKEN));
  });

  after(() => close?.());

  it("is linked from the header and shows a row per task with recent runs as bars", async () => {
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Timeline" })
      .click();
    await page.waitForURL(`${server.url}/timeline?tz=UTC`);
    assert.equal(await page.title(), "Timeline · orchestrator");
    await page.locator("#tl-svg").waitFor();
    assert.equal(await page.locator("#tl-svg a.tl-label").count(), 3);
    const label = await page.locator("#tl-svg").getAttribute("aria-label");
    assert.match(label ?? "", /^Timeline of 3 tasks .* \(UTC\): \d+ planned runs, 2 recent runs/);
    const failed = page.locator("#tl-svg rect.tl-bar.status-failed");
    assert.equal(await failed.count(), 1);
    assert.match(
      (await failed.locator("title").textContent()) ?? "",
      /^flaky: failed, started .*, took /,
    );
    assert.equal(await page.locator("#tl-svg rect.tl-bar.status-succeeded").count(), 1);
    // A quarter-hourly task has 96 runs in 24 hours, each a tick.
    assert.equal(
      await page.locator("#tl-svg line.tl-tick").count(),
      await page.locator("#tl-planned tbody tr").count(),
    );
    assert.equal(await page.locator("#tl-recent tbody tr").count(), 2);
    assert.equal(
      await page.locator("#tl-recent tbody tr").first().locator("th").textContent(),
      "flaky",
    );
    assert.equal(await page.locator("#tl-svg line.tl-now").count(), 1);
  });

  it("takes the window, start and zone from the form, keeps them in the address, and marks daylight saving", async () => {
    await page.getByLabel("Window").selectOption("6");
    await page.getByLabel(/^Starting/).fill("2026-03-08T00:00");
    await page.getByLabel("Time zone").fill("America/New_York");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/\/timeline\?hours=6&from=2026-03-08T00%3A00&tz=America%2FNew_York$/);
    const list = page.locator("#tl-dst-list li");
    await list.first().waitFor();
    assert.equal(
      await list.first().textContent(),
      "nightly: 2026-03-08 02:00–03:00 does not exist in America/New_York (clocks go forward): the run in it runs at 03:00 instead",
    );
    const moved = page.locator("#tl-svg polygon.tl-dst-shifted");
    assert.equal(await moved.count(), 1);
    assert.match(
      (await moved.locator("title").textContent()) ?? "",
      /^nightly: planned .*, moved by daylight saving \(spring forward\)$/,
    );
    assert.match(
      (await page.locator("#tl-svg line.tl-change title").textContent()) ?? "",
      /^nightly: 2026-03-08 02:00–03:00 does not exist/,
    );
    // Past the window of recent runs: no bars, and the table says the same.
    assert.equal(await page.locator("#tl-svg rect.tl-bar").count(), 0);
    const nightlyRow = page.locator("#tl-planned tbody tr", { hasText: "nightly" });
    assert.equal(await nightlyRow.locator("td code").textContent(), "2026-03-08T07:00:00.000Z");
    assert.equal(
      await nightlyRow.locator("td").last().textContent(),
      "moved by daylight saving (spring forward)",
    );

    await page.reload();
    await page.locator("#tl-dst-list li").first().waitFor();
    assert.equal(await page.getByLabel("Window").inputValue(), "6");
    assert.equal(await page.getByLabel("Time zone").inputValue(), "America/New_York");
    assert.equal(await page.getByLabel(/^Starting/).inputValue(), "2026-03-08T00:00");
  });

  it("says what is wrong with a zone the server does not know", async () => {
    await page.getByLabel("Time zone").fill("Mars/Olympus");
    await page.getByRole("button", { name: "Show" }).click();
    await page.locator("#status.error", { hasText: "tz must be an IANA time zone name" }).waitFor();
  });

  it("keeps an opened table open when it refreshes, and caps the rows of the chart", async () => {
    for (let i = 0; i < 300; i++) {
      await scheduler.registerTask(`yearly-${String(i).padStart(3, "0")}`, "0 0 1 1 *", () => {});
    }
    await page.goto(`${server.url}/timeline?tz=UTC`);
    await page
      .locator("#tl-rows-cut", {
        hasText:
          "The chart shows the first 300 of 303 tasks; the tables below list the runs of all of them.",
      })
      .waitFor();
    assert.equal(await page.locator("#tl-svg a.tl-label").count(), 300);
    await page.getByText(/^Planned runs as a table/).click();
    await page.locator("#tl-planned").waitFor();
    const rendered = Number(await page.locator("#tl-content").getAttribute("data-rendered"));
    await page.getByRole("button", { name: "Show" }).click();
    await page.locator(`#tl-content[data-rendered="${rendered + 1}"]`).waitFor();
    assert.equal(await page.locator("#tl-planned").isVisible(), true);
  });

  it("ran without script errors or CSP violations", () => {
    assert.deepEqual(
      errors.filter((e) => !/status of 400/.test(e)),
      [],
    );
  });
});
