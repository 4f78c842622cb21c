/**
 * Chromium for dashboard tests: Debian's /usr/bin/chromium driven by
 * playwright-core (never a downloaded browser). Without it, browser tests are
 * skipped with a visible message; under `CI=true` that is a failure.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import type { Dispatcher } from "../../src/core/dispatcher.js";
import { startHttpServer, type HttpServer } from "../../src/http/server.js";
import type { Scheduler } from "../../src/scheduler/index.js";

export const CHROMIUM = "/usr/bin/chromium";

/** Why browser tests cannot run here (pass as `skip`), or false. */
export function browserMissing(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const message = `${CHROMIUM} is missing: install Debian's chromium to run the dashboard browser tests`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`SKIPPED: ${message}`);
  return message;
}

/** A headless Chromium and a page (1280×760, light, en-GB, UTC) that collects script errors. */
export async function openBrowser(): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const context = await browser.newContext({
    viewport: { width: 1280, height: 760 },
    colorScheme: "light",
    locale: "en-GB",
    timezoneId: "UTC",
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  return { browser, page, errors };
}

/** Logs in on the dashboard at `url` with `token` (the login page's form). */
export async function logIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${url}/`);
}

/** A dashboard served for `scheduler` on a free port, a Chromium page logged in to it, and one close for all. */
export async function openDashboard(
  scheduler: Scheduler,
  dispatcher: Dispatcher,
  token: string,
): Promise<{ server: HttpServer; page: Page; errors: string[]; close: () => Promise<void> }> {
  const server = await startHttpServer({ scheduler, port: 0, token });
  const { browser, page, errors } = await openBrowser();
  const close = async (): Promise<void> => {
    await browser.close();
    await server.close();
    await scheduler.stop();
    await dispatcher.close();
  };
  await logIn(page, server.url, token);
  return { server, page, errors, close };
}
