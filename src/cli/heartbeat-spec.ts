import { InvalidArgumentError } from "../errors.js";
import { describeMs, toMs } from "../time/duration.js";
import { checkEnvRefs, findEnvRefs, resolveEnvRefs } from "./env-refs.js";
import type { Problem } from "./schedule-issues.js";
import { suggest } from "./suggest.js";

/** Methods a heartbeat is sent with (healthchecks.io, Uptime Kuma, Better Stack… take all three). */
export const HEARTBEAT_METHODS = ["GET", "HEAD", "POST"] as const;
export type HeartbeatMethod = (typeof HEARTBEAT_METHODS)[number];

/** Limits and defaults of a heartbeat. */
export const HEARTBEAT_LIMITS = Object.freeze({
  minEveryMs: 1_000,
  maxEveryMs: 86_400_000,
  defaultEveryMs: 60_000,
  /** The default timeout: this, or `every` when shorter. */
  defaultTimeoutMs: 10_000,
});

/** The keys of the file's `heartbeat` object. */
const KEYS = ["url", "every", "method", "timeoutMs"] as const;

/** A heartbeat as the file or the flags give it; `url` may hold `${NAME}` references. */
export interface HeartbeatSpec {
  readonly url: string;
  readonly everyMs: number;
  readonly method: HeartbeatMethod;
  readonly timeoutMs: number;
}

/** A heartbeat ready to send: its URL resolved and checked. */
export interface HeartbeatTarget extends HeartbeatSpec {
  /** What log lines show of the URL: its origin only (a ping URL's path is often its secret). */
  readonly label: string;
  /** Values that must not appear in logs: the resolved `${NAME}` values, the URL's path, query and password. */
  readonly secrets: readonly string[];
}

const EVERY_EXPECTED = `a duration such as "30s", "1m" or "5m", or a number of milliseconds, from ${describeMs(HEARTBEAT_LIMITS.minEveryMs)} to ${describeMs(HEARTBEAT_LIMITS.maxEveryMs)}`;
const URL_EXPECTED =
  'an http:// or https:// URL, or a ${NAME} reference to one, e.g. "${HEARTBEAT_URL}"';

function httpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks the schedule file's `heartbeat` object: `{ url, every?, method?,
 * timeoutMs? }`. Returns its problems (paths under `path`) and, when there
 * is none, the spec. `${NAME}` references in `url` are kept, resolved when
 * the daemon starts; a referenced variable that `isSet` says is missing is a
 * warning.
 */
export function checkHeartbeat(
  value: unknown,
  path: readonly (string | number)[],
  isSet?: (name: string) => boolean,
): { problems: Problem[]; warnings: Problem[]; spec?: HeartbeatSpec } {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  if (value === undefined) return { problems, warnings };
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    problems.push({
      path,
      message: `\`heartbeat\` must be an object with \`url\` and optionally ${KEYS.slice(1).join(", ")}, got ${JSON.stringify(value)}`,
    });
    return { problems, warnings };
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if ((KEYS as readonly string[]).includes(key)) continue;
    const hint = suggest(key, KEYS);
    problems.push({
      path: [...path, key],
      target: "key",
      message: `unknown key \`${key}\` in \`heartbeat\`${hint === undefined ? "" : ` (did you mean \`${hint}\`?)`}; allowed: ${KEYS.join(", ")}`,
    });
  }
  const { url } = record;
  if (typeof url !== "string" || url.trim() === "") {
    problems.push({
      path: url === undefined ? path : [...path, "url"],
      message: `\`heartbeat.url\` must be ${URL_EXPECTED}, got ${url === undefined ? "nothing" : JSON.stringify(url)}`,
    });
  } else {
    const malformed = checkEnvRefs(url);
    const refs = findEnvRefs(url);
    if (malformed !== undefined) {
      problems.push({
        path: [...path, "url"],
        index: malformed.offset,
        message: malformed.message,
      });
    } else if (refs.length === 0 && httpUrl(url) === undefined) {
      problems.push({
        path: [...path, "url"],
        message: `\`heartbeat.url\` must be ${URL_EXPECTED}, got ${JSON.stringify(url)}`,
      });
    }
    for (const ref of refs) {
      if (isSet === undefined || isSet(ref.name)) continue;
      warnings.push({
        path: [...path, "url"],
        index: ref.offset,
        message: `\`heartbeat.url\` refers to \${${ref.name}}, which is not set: the daemon will not start until it is`,
      });
    }
  }
  const everyMs = record.every === undefined ? HEARTBEAT_LIMITS.defaultEveryMs : toMs(record.every);
  const everyOk =
    everyMs !== undefined &&
    everyMs >= HEARTBEAT_LIMITS.minEveryMs &&
    everyMs <= HEARTBEAT_LIMITS.maxEveryMs;
  if (!everyOk) {
    problems.push({
      path: [...path, "every"],
      message: `\`heartbeat.every\` must be ${EVERY_EXPECTED}, got ${JSON.stringify(record.every)}`,
    });
  }
  const method = record.method ?? "GET";
  if (typeof method !== "string" || !(HEARTBEAT_METHODS as readonly string[]).includes(method)) {
    problems.push({
      path: [...path, "method"],
      message: `\`heartbeat.method\` must be one of ${HEARTBEAT_METHODS.join(", ")}, got ${JSON.stringify(method)}`,
    });
  }
  const timeoutMs =
    record.timeoutMs === undefined
      ? Math.min(HEARTBEAT_LIMITS.defaultTimeoutMs, everyMs ?? HEARTBEAT_LIMITS.defaultTimeoutMs)
      : record.timeoutMs;
  const timeoutOk =
    typeof timeoutMs === "number" &&
    Number.isSafeInteger(timeoutMs) &&
    timeoutMs >= 1 &&
    (!everyOk || timeoutMs <= (everyMs ?? 0));
  if (!timeoutOk) {
    problems.push({
      path: [...path, "timeoutMs"],
      message: `\`heartbeat.timeoutMs\` must be a whole number of milliseconds from 1 to \`every\`${everyOk ? ` (${everyMs})` : ""}, got ${JSON.stringify(record.timeoutMs)}`,
    });
  }
  if (problems.length > 0) return { problems, warnings };
  return {
    problems,
    warnings,
    spec: {
      url: url as string,
      everyMs: everyMs as number,
      method: method as HeartbeatMethod,
      timeoutMs: timeoutMs as number,
    },
  };
}

/**
 * The heartbeat of `--heartbeat-url` and `--heartbeat-every`, or undefined
 * when no URL is given. The URL is taken as written (the shell expands variables).
 * @throws InvalidArgumentError naming the flag.
 */
export function heartbeatFromFlags(
  url: string | undefined,
  every: string | undefined,
): HeartbeatSpec | undefined {
  if (url === undefined) {
    if (every !== undefined)
      throw new InvalidArgumentError(
        "--heartbeat-every",
        "used together with --heartbeat-url",
        every,
      );
    return undefined;
  }
  if (httpUrl(url.trim()) === undefined)
    throw new InvalidArgumentError("--heartbeat-url", "an http:// or https:// URL", url);
  const { problems, spec } = checkHeartbeat(
    { url: url.trim(), ...(every === undefined ? {} : { every }) },
    [],
  );
  if (spec === undefined)
    throw new InvalidArgumentError(
      "--heartbeat-every",
      EVERY_EXPECTED,
      every,
      problems[0]?.message,
    );
  return spec;
}

/**
 * Resolves the `${NAME}` references of a heartbeat's URL in `env` and checks
 * the result; `where` names its origin in errors (`--heartbeat-url`, or the file).
 * @throws MissingEnvVarError for a variable not set; InvalidArgumentError for a result that is not an http(s) URL.
 */
export function resolveHeartbeat(
  spec: HeartbeatSpec,
  env: Readonly<Record<string, string | undefined>>,
  where: string,
): HeartbeatTarget {
  const text = resolveEnvRefs(spec.url, env, where).trim();
  const url = httpUrl(text);
  const secrets = findEnvRefs(spec.url).flatMap((ref) => {
    const resolved = env[ref.name];
    return resolved === undefined ? [] : [resolved];
  });
  if (url === undefined) {
    // The value may be a secret: name the variables, not what they hold.
    const names = findEnvRefs(spec.url).map((ref) => `\${${ref.name}}`);
    throw new InvalidArgumentError(
      where,
      "an http:// or https:// URL",
      names.length > 0 ? `${names.join(", ")} resolved to something else` : text,
    );
  }
  if (url.password !== "") secrets.push(url.password);
  const rest = `${url.pathname}${url.search}`;
  if (rest !== "/") secrets.push(rest);
  return { ...spec, url: url.href, label: url.origin, secrets };
}

/**
 * The daemon's heartbeat: `--heartbeat-url` when given, else the schedule
 * file's `heartbeat`, resolved in `env`; undefined when neither is set.
 * @throws as {@link resolveHeartbeat}.
 */
export function daemonHeartbeatTarget(
  flag: HeartbeatSpec | undefined,
  file: HeartbeatSpec | undefined,
  env: Readonly<Record<string, string | undefined>>,
): HeartbeatTarget | undefined {
  if (flag !== undefined) return resolveHeartbeat(flag, env, "--heartbeat-url");
  if (file !== undefined) return resolveHeartbeat(file, env, "heartbeat.url of the schedule file");
  return undefined;
}
