import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, type ServerOptions as TlsOptions } from "node:https";
import { isIPv4, isIPv6, type AddressInfo } from "node:net";
import { InvalidArgumentError, Redacted } from "../errors.js";
import { safeLog, silentLogger, type Logger } from "../logger.js";
import type { Scheduler } from "../scheduler.js";
import { handleApi, type ApiContext } from "./api.js";
import { Authenticator, FailureLimiter, checkCsrf, randomToken, type Session } from "./auth.js";
import { staticAssets, type StaticAsset } from "./dashboard/assets.js";
import { appPage } from "./dashboard/pages.js";
import { EventStream } from "./event-stream.js";
import { postLogin, postLogout, readFields, showLogin, type RequestFacts } from "./login.js";
import { createSchedulerMetrics, type SchedulerMetrics } from "./metrics.js";
import { readiness } from "./readiness.js";
import {
  applySecurityHeaders,
  methodNotAllowed,
  redirect,
  sendError,
  sendJson,
  sendText,
} from "./responses.js";
import { DurationCache } from "./task-view.js";

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  /** The scheduler the dashboard shows and acts on. */
  readonly scheduler: Scheduler;
  /**
   * Address to listen on. Anything but a loopback address requires `token`.
   * @defaultValue "127.0.0.1"
   */
  readonly host?: string;
  /**
   * TCP port; 0 picks a free one (read it from `url`).
   * @defaultValue 8080
   */
  readonly port?: number;
  /**
   * The secret every request but `/healthz` and `/readyz` must present (bearer header or
   * login). Required on non-loopback hosts; on loopback a random one is
   * generated when it is missing (read it from the result's `token` / `loginUrl`).
   */
  readonly token?: string;
  /**
   * Where request errors are logged (pino-compatible).
   * @defaultValue a silent logger
   */
  readonly logger?: Logger;
  /**
   * `/metrics`: true creates the scheduler's metrics (its own registry) and
   * disposes of them on close; pass a {@link SchedulerMetrics} to share
   * yours (you dispose of it); false serves no `/metrics`.
   * @defaultValue true
   */
  readonly metrics?: boolean | SchedulerMetrics;
  /** Serve https with these TLS options (key, cert); cookies then get `Secure` and the `__Host-` prefix. */
  readonly tls?: TlsOptions;
  /**
   * Treat `X-Forwarded-Proto: https` as https (behind a TLS-terminating proxy you trust).
   * @defaultValue false
   */
  readonly trustProxy?: boolean;
  /**
   * Idle lifetime of a login session.
   * @defaultValue 43200000 (12 h)
   */
  readonly sessionTtlMs?: number;
}

/** A running dashboard server. */
export interface HttpServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** The token in force (the given one, or the generated one). */
  readonly token: string;
  /** A link that logs a browser in (`/login#token=…`: the fragment never reaches the server). Print it once. */
  readonly loginUrl: string;
  /** The metrics served at `/metrics`, or null when disabled. */
  readonly metrics: SchedulerMetrics | null;
  /** Ends event streams and open connections, stops listening, and disposes of metrics it created. */
  close(): Promise<void>;
}

/** True for loopback addresses: `localhost`, `127.0.0.0/8`, `::1` (also IPv4-mapped). */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIPv4(h)) return h.startsWith("127.");
  if (!isIPv6(h)) return false;
  if (h === "::1" || /^(0{1,4}:){7}0{0,3}1$/.test(h)) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)?.[1];
  return mapped !== undefined && mapped.startsWith("127.");
}

function checkOptions(options: HttpServerOptions): { host: string; port: number; token: string } {
  if (options === null || typeof options !== "object")
    throw new InvalidArgumentError("options", "an object", options);
  const { scheduler } = options;
  if (
    scheduler === null ||
    typeof scheduler !== "object" ||
    typeof scheduler.listTasks !== "function"
  )
    throw new InvalidArgumentError("options.scheduler", "a Scheduler", scheduler);
  const host = options.host ?? "127.0.0.1";
  if (typeof host !== "string" || host === "")
    throw new InvalidArgumentError("options.host", "a host name or IP address", host);
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError("options.port", "a whole number from 0 to 65535", port);
  const token = options.token;
  if (token !== undefined && (typeof token !== "string" || token.trim() === "")) {
    throw new InvalidArgumentError(
      "options.token",
      "a non-empty string",
      typeof token === "string" ? new Redacted("an empty string") : token,
    );
  }
  if (token === undefined && !isLoopbackHost(host)) {
    throw new InvalidArgumentError(
      "options.token",
      `a token, because ${host} is not a loopback address`,
      undefined,
      "refusing to serve the dashboard on a network address without authentication; " +
        "set ORCHESTRATOR_TOKEN (e.g. `openssl rand -base64 32`) or listen on 127.0.0.1",
    );
  }
  return { host, port, token: token ?? randomToken() };
}

function formatUrl(secure: boolean, host: string, port: number): string {
  const shown = isIPv6(host) ? `[${host}]` : host;
  return `${secure ? "https" : "http"}://${shown}:${port}`;
}

const HTML = "text/html; charset=utf-8";
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Starts the dashboard, JSON API and Prometheus endpoint of a scheduler on
 * node:http (node:https with `tls`). Every route but `/healthz`, `/readyz`
 * (see {@link readiness}) and the static `/assets/` needs the token, as `Authorization: Bearer <token>` or a
 * session cookie from `POST /login`. Cookie-authenticated state changes need
 * the session's CSRF token and a same-origin `Origin`/`Sec-Fetch-Site`.
 * Refuses to listen on a non-loopback host without a token.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { host, port, token } = checkOptions(options);
  const { scheduler } = options;
  const logger = options.logger ?? silentLogger;
  const auth = new Authenticator({
    token,
    clock: scheduler.clock,
    ...(options.sessionTtlMs === undefined ? {} : { sessionTtlMs: options.sessionTtlMs }),
  });
  const limiter = new FailureLimiter(scheduler.clock);
  const ownsMetrics = options.metrics === undefined || options.metrics === true;
  const metrics: SchedulerMetrics | null = ownsMetrics
    ? createSchedulerMetrics(scheduler)
    : options.metrics === false || options.metrics === undefined
      ? null
      : options.metrics;
  const durations = new DurationCache(scheduler);
  const events = new EventStream(scheduler, {
    onRunFinished: (name) => durations.invalidate(name),
  });
  const api: ApiContext = { scheduler, logger, events, durations };
  const assets = staticAssets();
  const tls = options.tls !== undefined;
  const trustProxy = options.trustProxy === true;

  const facts = (request: IncomingMessage): RequestFacts => {
    const forwarded = trustProxy ? request.headers["x-forwarded-proto"] : undefined;
    const secure =
      tls || (typeof forwarded === "string" && forwarded.split(",")[0]?.trim() === "https");
    return {
      secure,
      origin: `${secure ? "https" : "http"}://${request.headers.host ?? ""}`,
      client: request.socket.remoteAddress ?? "unknown",
    };
  };

  const route = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    applySecurityHeaders(response);
    const method = request.method ?? "GET";
    const url = new URL(request.url ?? "/", "http://localhost");
    const path = url.pathname;
    if (path === "/healthz" || path === "/readyz") {
      const ready = path === "/readyz" ? readiness(scheduler) : undefined;
      if (method !== "GET" && method !== "HEAD") methodNotAllowed(response, "GET");
      else if (ready === undefined) sendJson(response, 200, { status: "ok" });
      else sendJson(response, ready.status, ready.body);
      return;
    }
    const asset = assets.get(path);
    if (asset !== undefined) {
      serveAsset(request, response, asset);
      return;
    }
    const info = facts(request);
    // A throttled client gets no answer about any token, right or wrong.
    const throttled =
      request.headers.authorization === undefined ? 0 : limiter.retryAfterSeconds(info.client);
    if (throttled > 0) {
      sendError(response, 429, "too_many_attempts", "Too many wrong tokens", {
        "Retry-After": String(throttled),
      });
      return;
    }
    const result = auth.authenticate(request, info.secure);
    if (path === "/login") {
      if (method === "GET" || method === "HEAD") showLogin(response, url, result.ok);
      else if (method === "POST")
        await postLogin({ auth, limiter, logger }, request, response, info);
      else methodNotAllowed(response, "GET, POST");
      return;
    }
    const isApi = path.startsWith("/api/") || path === "/metrics";
    if (!result.ok) {
      if (result.reason === "invalid-token") limiter.fail(info.client);
      if (!isApi && (method === "GET" || method === "HEAD")) {
        redirect(response, `/login?next=${encodeURIComponent(path + url.search)}`);
      } else {
        sendError(response, 401, "unauthorized", "Send Authorization: Bearer <token>, or log in", {
          "WWW-Authenticate": 'Bearer realm="orchestrator"',
        });
      }
      return;
    }
    const session: Session | null = result.method === "session" ? result.session : null;
    if (STATE_CHANGING.has(method) && session !== null) {
      const formToken = path === "/logout" ? await formCsrfToken(request) : undefined;
      const refusal = checkCsrf(request, session, info.origin, formToken);
      if (refusal !== null) {
        sendError(response, 403, "csrf", `Refused a cross-site or unverified request (${refusal})`);
        return;
      }
    }
    if (path === "/logout") {
      if (method === "POST") postLogout({ auth, limiter, logger }, response, session, info.secure);
      else methodNotAllowed(response, "POST");
      return;
    }
    if (path === "/metrics") {
      if (metrics === null) sendError(response, 404, "not_found", "Metrics are disabled");
      else if (method !== "GET" && method !== "HEAD") methodNotAllowed(response, "GET");
      else sendText(response, 200, metrics.contentType, await metrics.render());
      return;
    }
    if (path.startsWith("/api/")) {
      if (!(await handleApi(api, request, response, url)))
        sendError(response, 404, "not_found", `No route ${path}`);
      return;
    }
    const taskPage = /^\/tasks\/([^/]+)$/.exec(path);
    if (path === "/" || taskPage !== null) {
      if (method !== "GET" && method !== "HEAD") {
        methodNotAllowed(response, "GET");
        return;
      }
      let taskName: string | undefined;
      try {
        taskName = taskPage === null ? undefined : decodeURIComponent(taskPage[1] ?? "");
      } catch {
        taskName = undefined;
      }
      const page = appPage({
        csrfToken: session?.csrfToken ?? "",
        ...(taskName === undefined ? {} : { taskName }),
      });
      sendText(response, 200, HTML, page);
      return;
    }
    sendText(response, 404, "text/plain; charset=utf-8", "Not found\n");
  };

  const listener = (request: IncomingMessage, response: ServerResponse): void => {
    route(request, response).catch((error: unknown) => {
      safeLog(logger, "error", { err: error, url: request.url }, "Dashboard request failed");
      if (!response.headersSent) sendError(response, 500, "internal", "Internal error");
      else response.destroy();
    });
  };
  const server = tls ? createHttpsServer(options.tls ?? {}, listener) : createHttpServer(listener);
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    events.close();
    if (ownsMetrics) metrics?.dispose();
    throw error;
  }
  server.on("error", (error) => safeLog(logger, "error", { err: error }, "Dashboard server error"));
  const address = server.address() as AddressInfo;
  const url = formatUrl(tls, host, address.port);

  let closing: Promise<void> | undefined;
  return {
    url,
    token,
    loginUrl: `${url}/login#token=${encodeURIComponent(token)}`,
    metrics,
    close() {
      closing ??= new Promise<void>((resolve) => {
        events.close();
        if (ownsMetrics) metrics?.dispose();
        auth.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function serveAsset(request: IncomingMessage, response: ServerResponse, asset: StaticAsset): void {
  const method = request.method ?? "GET";
  if (method !== "GET" && method !== "HEAD") {
    methodNotAllowed(response, "GET");
    return;
  }
  const headers = { ETag: asset.etag, "Cache-Control": "no-cache" };
  if (request.headers["if-none-match"] === asset.etag) {
    response.writeHead(304, headers);
    response.end();
    return;
  }
  sendText(response, 200, asset.contentType, asset.body, headers);
}

/** The `_csrf` field of a small form body (the logout form), if any. */
async function formCsrfToken(request: IncomingMessage): Promise<string | undefined> {
  try {
    return (await readFields(request))?.get("_csrf");
  } catch {
    return undefined;
  }
}
