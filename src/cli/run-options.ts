import { InvalidArgumentError } from "../errors.js";
import { normalizeAllowedHost } from "../http/host-check.js";
import { historyMaxAgeFlag } from "./history-retention.js";
import { heartbeatFromFlags, type HeartbeatSpec } from "./heartbeat-spec.js";
import { parseDuration } from "../time/duration.js";
import { MAX_TIMEOUT_MS } from "../time/timer-loop.js";
import { DEFAULT_STORE, parseStoreUrl, type StoreLocation } from "./store-url.js";

/** The flags of `orchestrator run`, as commander gives them. */
export interface RunFlags {
  readonly store?: string;
  readonly http?: string;
  /** `--http-allowed-host`, once per name. */
  readonly httpAllowedHost?: readonly string[];
  readonly httpTrustProxy?: boolean;
  readonly nodeId?: string;
  readonly logFormat?: string;
  readonly watch?: boolean;
  readonly graceMs?: string;
  readonly historyMaxAge?: string;
  readonly heartbeatUrl?: string;
  readonly heartbeatEvery?: string;
}

/** `orchestrator run`'s flags, checked. */
export interface RunSettings {
  readonly store: StoreLocation;
  readonly http:
    | {
        readonly host: string;
        readonly port: number;
        /** More names the Host header may carry (`--http-allowed-host`). */
        readonly allowedHosts: readonly string[];
        /** Believe `X-Forwarded-Proto` (`--http-trust-proxy`): behind a TLS-terminating proxy. */
        readonly trustProxy: boolean;
      }
    | undefined;
  readonly nodeId: string | undefined;
  readonly logFormat: "pretty" | "json";
  readonly watch: boolean;
  /** How long a stop waits for running runs before killing them. */
  readonly graceMs: number;
  /** `--history-max-age` in ms (0: keep all history); undefined when not given. */
  readonly historyMaxAgeMs: number | undefined;
  /** `--heartbeat-url` and `--heartbeat-every`; undefined when not given (the file's, if any, applies). */
  readonly heartbeat: HeartbeatSpec | undefined;
}

/** The default of `--grace-ms`. */
export const DEFAULT_GRACE_MS = 30_000;

/**
 * Reads `--http`: `host:port`, `[::1]:port`, or a port alone (on 127.0.0.1).
 * @throws InvalidArgumentError for anything else.
 */
export function parseListenAddress(value: string): { host: string; port: number } {
  const text = value.trim();
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(
      "--http",
      "host:port, e.g. 127.0.0.1:8080 (or a port alone, on 127.0.0.1)",
      value,
    );
  }
  const host = match[1] || match[2] || "127.0.0.1";
  return { host, port };
}

/**
 * Checks the flags of `orchestrator run`.
 * @throws InvalidArgumentError naming the flag.
 */
export function parseRunFlags(flags: RunFlags, cwd: string): RunSettings {
  const format = flags.logFormat ?? "pretty";
  if (format !== "pretty" && format !== "json") {
    throw new InvalidArgumentError("--log-format", '"pretty" or "json"', format);
  }
  // A timer longer than 2^31-1 ms fires at once: the grace period would kill at once.
  const grace =
    flags.graceMs === undefined
      ? DEFAULT_GRACE_MS
      : parseDuration("--grace-ms", flags.graceMs, { maxMs: MAX_TIMEOUT_MS });
  if (flags.nodeId !== undefined && flags.nodeId.trim() === "") {
    throw new InvalidArgumentError("--node-id", "a non-empty id", flags.nodeId);
  }
  const allowedHosts = (flags.httpAllowedHost ?? []).map((name) =>
    normalizeAllowedHost(name, "--http-allowed-host"),
  );
  if (allowedHosts.length > 0 && flags.http === undefined) {
    throw new InvalidArgumentError(
      "--http-allowed-host",
      "used together with --http",
      flags.httpAllowedHost?.[0],
    );
  }
  if (flags.httpTrustProxy === true && flags.http === undefined) {
    throw new InvalidArgumentError("--http-trust-proxy", "used together with --http", true);
  }
  return {
    store: parseStoreUrl(flags.store ?? DEFAULT_STORE, cwd),
    http:
      flags.http === undefined
        ? undefined
        : {
            ...parseListenAddress(flags.http),
            allowedHosts,
            trustProxy: flags.httpTrustProxy === true,
          },
    nodeId: flags.nodeId,
    logFormat: format,
    watch: flags.watch === true,
    graceMs: grace,
    historyMaxAgeMs: historyMaxAgeFlag(flags.historyMaxAge),
    heartbeat: heartbeatFromFlags(flags.heartbeatUrl, flags.heartbeatEvery),
  };
}
