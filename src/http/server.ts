import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { safeLog, silentLogger } from "../logger.js";
import { handleApi, type ApiContext } from "./api.js";
import { Authenticator, checkCsrf, type Session } from "./auth.js";
import { clientKey } from "./client-key.js";
import { ConnectionLimiter, HTTP_SERVER_TIMEOUTS } from "./connection-limiter.js";
import { staticAssets } from "./dashboard/assets.js";
import { AuditTrail } from "./audit-trail.js";
import { appPage } from "./dashboard/pages.js";
import { EVENT_STREAM_DEFAULTS, EventStream } from "./event-stream.js";
import { FailureLimiter } from "./failure-limiter.js";
import { HostCheck, refuseMisdirected } from "./host-check.js";
import { resolveListenHost } from "./listen-address.js";
import { formCsrfToken, postLogin, postLogout, showLogin, type RequestFacts } from "./login.js";
import { createSchedulerMetrics, type SchedulerMetrics } from "./metrics.js";
import { refuseReadOnly } from "./roles.js";
import { readiness } from "./readiness.js";
import {
  applySecurityHeaders,
  methodNotAllowed,
  redirect,
  resetForError,
  sendAsset,
  sendError,
  sendJson,
  sendText,
} from "./responses.js";
import { checkOptions, formatUrl, tokenFor, type HttpServerOptions } from "./server-options.js";
import { DurationCache } from "./task-view.js";

export type { HttpServerOptions } from "./server-options.js";

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

const HTML = "text/html; charset=utf-8";
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Starts the dashboard, JSON API and Prometheus endpoint of a scheduler on
 * node:http (node:https with `tls`). Every route but `/healthz`, `/readyz`
 * (see {@link readiness}) and the static `/assets/` needs the token, as `Authorization: Bearer <token>` or a
 * session cookie from `POST /login`. Cookie-authenticated state changes need
 * the session's CSRF token and a same-origin `Origin`/`Sec-Fetch-Site`.
 * Requests whose `Host` names another host get 421 (DNS rebinding), open
 * connections are capped (`connectionLimits`), and wrong tokens are counted
 * per client (429 beyond 20 a minute) while the right one is always accepted.
 * Refuses to listen on a non-loopback host without a token.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { host, port, allowedHosts, limits, ...checked } = checkOptions(options);
  const listen = await resolveListenHost(host);
  const token = tokenFor(listen, checked.token);
  const hostCheck = new HostCheck(listen, allowedHosts);
  const connections = new ConnectionLimiter(limits);
  const { scheduler } = options;
  const logger = options.logger ?? silentLogger;
  const auth = new Authenticator({
    token,
    ...(options.readOnlyToken === undefined ? {} : { readOnlyToken: options.readOnlyToken }),
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
    // Streams hold their connections: at most half of them, so that others always get in.
    maxClients: Math.min(EVENT_STREAM_DEFAULTS.maxClients, Math.ceil(limits.maxConnections / 2)),
    maxPerClient: Math.min(
      EVENT_STREAM_DEFAULTS.maxPerClient,
      Math.ceil(limits.maxConnectionsPerClient / 2),
    ),
    isSessionLive: (session) => auth.isLive(session),
  });
  const audit = new AuditTrail(scheduler, logger);
  const api: ApiContext = {
    scheduler,
    logger,
    events,
    durations,
    audit,
    fromScheduleFile: options.fromScheduleFile,
  };
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
      client: clientKey(request.socket.remoteAddress),
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
    if (!hostCheck.allows(request.headers.host)) {
      refuseMisdirected(response);
      return;
    }
    const asset = assets.get(path);
    if (asset !== undefined) {
      sendAsset(request, response, asset);
      return;
    }
    const info = facts(request);
    const result = auth.authenticate(request, info.secure);
    if (result.ok) connections.trust(request, response);
    if (path === "/login") {
      if (method === "GET" || method === "HEAD") showLogin(response, url, result.ok);
      else if (method === "POST")
        await postLogin({ auth, limiter, logger }, request, response, info);
      else methodNotAllowed(response, "GET, POST");
      return;
    }
    const isApi = path.startsWith("/api/") || path === "/metrics";
    if (!result.ok) {
      // A right token is never refused; wrong ones beyond the limit are answered 429.
      const wait = result.reason === "invalid-token" ? limiter.fail(info.client) : 0;
      if (wait > 0) {
        sendError(response, 429, "too_many_attempts", "Too many wrong tokens", {
          "Retry-After": String(wait),
        });
      } else if (!isApi && (method === "GET" || method === "HEAD")) {
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
      if (method === "POST") {
        postLogout({ auth, limiter, logger }, response, session, info.secure);
        if (session !== null) events.closeSession(session);
      } else methodNotAllowed(response, "POST");
      return;
    }
    if (
      STATE_CHANGING.has(method) &&
      (await refuseReadOnly(result.principal, { method, path }, response, audit))
    )
      return;
    if (path === "/metrics") {
      if (metrics === null) sendError(response, 404, "not_found", "Metrics are disabled");
      else if (method !== "GET" && method !== "HEAD") methodNotAllowed(response, "GET");
      else sendText(response, 200, metrics.contentType, await metrics.render());
      return;
    }
    if (path.startsWith("/api/")) {
      if (
        !(await handleApi(
          api,
          request,
          response,
          url,
          { client: info.client, session },
          result.principal,
        ))
      )
        sendError(response, 404, "not_found", `No route ${path}`);
      return;
    }
    const taskPage = /^\/tasks\/([^/]+)$/.exec(path);
    if (path === "/" || taskPage !== null || path === "/timeline") {
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
        role: result.principal.role,
        ...(taskName === undefined ? {} : { taskName }),
        ...(path === "/timeline" ? { page: "timeline" as const } : {}),
      });
      sendText(response, 200, HTML, page);
      return;
    }
    sendText(response, 404, "text/plain; charset=utf-8", "Not found\n");
  };

  const listener = (request: IncomingMessage, response: ServerResponse): void => {
    route(request, response).catch((error: unknown) => {
      safeLog(logger, "error", { err: error, url: request.url }, "Dashboard request failed");
      if (response.headersSent) response.destroy();
      else {
        resetForError(response);
        sendError(response, 500, "internal", "Internal error");
      }
    });
  };
  const server = tls
    ? createHttpsServer(
        // A TLS handshake gets no longer than the request headers (node's default is 120 s).
        {
          handshakeTimeout: HTTP_SERVER_TIMEOUTS.headersTimeout,
          ...options.tls,
          ...HTTP_SERVER_TIMEOUTS,
        },
        listener,
      )
    : createHttpServer(HTTP_SERVER_TIMEOUTS, listener);
  connections.attach(server);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, listen.address, () => {
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
  const url = formatUrl(tls, listen.address, address.port);

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
