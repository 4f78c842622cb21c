import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler.js";
import { startHttpServer, type HttpServer, type HttpServerOptions } from "../../src/http/server.js";
import { ManualClock } from "../../src/time/clock.js";

/** The token of test servers. */
export const TOKEN = "test-token-0123456789abcdef";

/** A scheduler on a ManualClock and a dashboard server on a free port, plus a cleanup. */
export interface Harness {
  readonly scheduler: Scheduler;
  readonly clock: ManualClock;
  readonly server: HttpServer;
  /** Absolute URL of a path on the server. */
  at(path: string): string;
  /** fetch with `Authorization: Bearer TOKEN`. */
  bearer(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** Starts a harness; `setup` registers tasks before the server starts. */
export async function startHarness(
  setup: (scheduler: Scheduler) => Promise<unknown> = async () => {},
  options: Partial<HttpServerOptions> = {},
): Promise<Harness> {
  const clock = new ManualClock("2026-03-01T10:00:00Z");
  const dispatcher = new Dispatcher();
  const scheduler = new Scheduler(dispatcher, { clock, timezone: "UTC", logger: silentLogger });
  await setup(scheduler);
  const server = await startHttpServer({ scheduler, port: 0, token: TOKEN, ...options });
  const at = (path: string): string => new URL(path, server.url).href;
  return {
    scheduler,
    clock,
    server,
    at,
    bearer: (path, init = {}) =>
      fetch(at(path), {
        ...init,
        redirect: "manual",
        headers: { Authorization: `Bearer ${TOKEN}`, ...(init.headers as Record<string, string>) },
      }),
    async close() {
      await server.close();
      await scheduler.stop();
      await dispatcher.close();
    },
  };
}

/** A logged-in cookie session: the cookie header value and the session's CSRF token. */
export interface CookieSession {
  readonly cookie: string;
  readonly csrfToken: string;
  readonly setCookie: string;
}

/** Logs in with the form, as a browser would, and reads the CSRF token from the dashboard page. */
export async function login(harness: Harness, token = TOKEN): Promise<CookieSession> {
  const origin = new URL(harness.server.url).origin;
  const response = await fetch(harness.at("/login"), {
    method: "POST",
    redirect: "manual",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Origin: origin,
      "Sec-Fetch-Site": "same-origin",
    },
    body: new URLSearchParams({ token, next: "/" }).toString(),
  });
  if (response.status !== 303) throw new Error(`login answered ${response.status}`);
  const setCookie = response.headers.get("set-cookie") ?? "";
  const cookie = setCookie.split(";")[0] ?? "";
  const page = await (await fetch(harness.at("/"), { headers: { Cookie: cookie } })).text();
  const csrfToken = /<meta name="csrf-token" content="([^"]+)">/.exec(page)?.[1];
  if (csrfToken === undefined) throw new Error("no CSRF token in the dashboard page");
  return { cookie, csrfToken, setCookie };
}

/** One server-sent event. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/** Reads server-sent events from a streaming response, across several waits. */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";

  constructor(response: Response) {
    this.#reader = (response.body as ReadableStream<Uint8Array>).getReader();
  }

  /** Reads events until `until` returns true for one; resolves with every event read meanwhile. */
  async until(until: (event: SseEvent) => boolean): Promise<SseEvent[]> {
    const seen: SseEvent[] = [];
    for (;;) {
      let end: number;
      while ((end = this.#buffer.indexOf("\n\n")) !== -1) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        let event = "message";
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data.push(line.slice(6));
        }
        if (data.length === 0) continue;
        const parsed = { event, data: data.join("\n") };
        seen.push(parsed);
        if (until(parsed)) return seen;
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("the event stream ended");
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** Stops reading (closes the connection). */
  async close(): Promise<void> {
    await this.#reader.cancel();
  }
}
