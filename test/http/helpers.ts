import { connect, type Socket } from "node:net";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
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

/** Logs a cookie session out with the logout form (CSRF token included), as the dashboard does. */
export function logout(harness: Harness, session: CookieSession): Promise<Response> {
  return fetch(harness.at("/logout"), {
    method: "POST",
    redirect: "manual",
    headers: {
      Cookie: session.cookie,
      Origin: new URL(harness.server.url).origin,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ _csrf: session.csrfToken }).toString(),
  });
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

/** How long a raw-connection wait may take before the test fails (generous: loaded machines stall). */
export const RAW_WAIT_MS = 20_000;

/** A raw TCP connection to a test server: writes text, collects what comes back. */
export class RawConnection {
  readonly socket: Socket;
  text = "";
  readonly closed: Promise<void>;
  readonly #waiters = new Set<() => void>();

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.text += chunk;
      for (const wake of this.#waiters) wake();
    });
    socket.on("error", () => {});
    this.closed = new Promise((resolve) => {
      socket.once("close", () => {
        for (const wake of this.#waiters) wake();
        resolve();
      });
    });
  }

  /** Connects to the host and port of `url`. */
  static open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname.replace(/^\[(.*)\]$/, "$1"));
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new RawConnection(socket));
      });
    });
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** Resolves when what came back matches `pattern`; rejects when the connection closes first, or after {@link RAW_WAIT_MS}. */
  until(pattern: RegExp): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const match = pattern.exec(this.text);
        if (match !== null) {
          done();
          resolve(match);
          return true;
        }
        if (this.socket.destroyed) {
          done();
          reject(new Error(`the connection closed before ${String(pattern)}: ${this.text}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${String(pattern)}: ${this.text}`));
      }, RAW_WAIT_MS);
      const wake = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      if (!check()) this.#waiters.add(wake);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A raw HTTP/1.1 response, as far as tests look at it. */
export interface RawResponse {
  readonly status: number;
  readonly head: string;
  readonly body: string;
}

/**
 * Sends one request exactly as written (`head` without the final blank line;
 * `Connection: close` is added) and reads the whole response.
 */
export async function rawRequest(url: string, head: string, body = ""): Promise<RawResponse> {
  const connection = await RawConnection.open(url);
  try {
    connection.write(`${head}\r\nConnection: close\r\n\r\n${body}`);
    await connection.closed;
    const end = connection.text.indexOf("\r\n\r\n");
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(connection.text)?.[1]);
    if (end === -1 || !Number.isInteger(status))
      throw new Error(`not an HTTP response: ${connection.text}`);
    return { status, head: connection.text.slice(0, end), body: connection.text.slice(end + 4) };
  } finally {
    connection.close();
  }
}
