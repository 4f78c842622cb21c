import type { ServerOptions as TlsOptions } from "node:https";
import { isIPv6 } from "node:net";
import { InvalidArgumentError, Redacted } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Scheduler } from "../scheduler/index.js";
import { randomToken } from "./auth.js";
import { connectionLimits, type ConnectionLimits } from "./connection-limiter.js";
import { normalizeAllowedHost } from "./host-check.js";
import type { ListenAddress } from "./listen-address.js";
import type { SchedulerMetrics } from "./metrics.js";

/** Options of `startHttpServer` (server.ts). */
export interface HttpServerOptions {
  /** The scheduler the dashboard shows and acts on. */
  readonly scheduler: Scheduler;
  /**
   * Address to listen on, or a name: it is resolved first and the server binds
   * to its first address. Anything but loopback addresses requires `token`.
   * @defaultValue "127.0.0.1"
   */
  readonly host?: string;
  /**
   * More names the `Host` header may carry (a proxy's public name):
   * `dash.example.com`, or `.example.com` for it and its subdomains. Requests
   * naming any other host get 421 (against DNS rebinding); `localhost`,
   * loopback addresses and `host` itself are always allowed.
   * @defaultValue []
   */
  readonly allowedHosts?: readonly string[];
  /**
   * Most open connections in all, and per client (IPv4 address or IPv6 /64);
   * a connection over a limit displaces the oldest one not serving an
   * authenticated request, or is closed.
   * @defaultValue from the descriptor limit L (`ulimit -n`): min(L/4, 1024) in
   * all, a quarter of that (2 to 64) per client
   */
  readonly connectionLimits?: Partial<ConnectionLimits>;
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
   * A second token that may only view: its requests and sessions get the
   * `read-only` role, and every state-changing request of theirs is refused
   * with 403 (see `roles.ts`). Must differ from `token`. None when absent.
   */
  readonly readOnlyToken?: string;
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
  /**
   * Tells a task added from a schedule file by its payload (`orchestrator
   * run` passes the check of its own mark): the API's `fromScheduleFile`.
   * @defaultValue none: `fromScheduleFile` is null
   */
  readonly fromScheduleFile?: (payload: unknown) => boolean;
}

/** The options, checked. */
export interface CheckedOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
  readonly allowedHosts: readonly string[];
  readonly limits: ConnectionLimits;
}

/** Checks the options (InvalidArgumentError), and gives the defaults. */
export function checkOptions(options: HttpServerOptions): CheckedOptions {
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
  const allowed = options.allowedHosts ?? [];
  if (!Array.isArray(allowed))
    throw new InvalidArgumentError("options.allowedHosts", "an array of host names", allowed);
  const allowedHosts = allowed.map((name: string) =>
    normalizeAllowedHost(name, "options.allowedHosts"),
  );
  const limits = connectionLimits(options.connectionLimits, "options.connectionLimits");
  const readOnlyToken = options.readOnlyToken;
  if (
    readOnlyToken !== undefined &&
    (typeof readOnlyToken !== "string" || readOnlyToken.trim() === "" || readOnlyToken === token)
  ) {
    throw new InvalidArgumentError(
      "options.readOnlyToken",
      "a non-empty string other than the admin token",
      typeof readOnlyToken === "string"
        ? new Redacted(readOnlyToken === token ? "the admin token" : "an empty string")
        : readOnlyToken,
    );
  }
  return { host, port, token, allowedHosts, limits };
}

/** The token in force: the given one, or a generated one on loopback. */
export function tokenFor(listen: ListenAddress, token: string | undefined): string {
  if (token !== undefined) return token;
  if (listen.loopback) return randomToken();
  const what =
    listen.host === listen.address
      ? `${listen.host} is not a loopback address`
      : `${listen.host} does not resolve to loopback addresses only`;
  throw new InvalidArgumentError(
    "options.token",
    `a token, because ${what}`,
    undefined,
    "refusing to serve the dashboard on a network address without authentication; " +
      "set ORCHESTRATOR_TOKEN (e.g. `openssl rand -base64 32`) or listen on 127.0.0.1",
  );
}

/** The server's base URL. */
export function formatUrl(secure: boolean, host: string, port: number): string {
  const shown = isIPv6(host) ? `[${host}]` : host;
  return `${secure ? "https" : "http"}://${shown}:${port}`;
}
