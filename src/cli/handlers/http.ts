import { performance } from "node:perf_hooks";
import { ActionFailedError, TimeoutError } from "../../errors.js";
import { resolveEnvRecord } from "../env-refs.js";
import type { HttpActionSpec } from "../schedule-spec.js";
import type { Redactor, TextCut } from "../secret-redactor.js";
import { isRedirect, nextHop, type Hop } from "./http-redirects.js";

/** Options of {@link runHttpAction}. */
export interface RunHttpOptions {
  /** The run's signal; combined with the spec's `timeoutMs`. */
  readonly signal?: AbortSignal;
  /**
   * Where `${NAME}` references in header values are resolved from.
   * @defaultValue process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Names the request in errors, e.g. the task name. */
  readonly label?: string;
  /**
   * How many bytes of the response body to keep.
   * @defaultValue 1024
   */
  readonly bodyPreviewBytes?: number;
  /** Hides secrets in the body preview and in error messages. */
  readonly redactor?: Redactor;
}

/** The outcome of an HTTP action. */
export interface HttpResult {
  readonly status: number;
  readonly statusText: string;
  /** From sending the request to the end of the kept body, in ms (monotonic clock). */
  readonly durationMs: number;
  /** The start of the response body (`bodyPreviewBytes`), as UTF-8. */
  readonly body: string;
  /** Whether the body was longer than what was kept. */
  readonly bodyTruncated: boolean;
  /** How many redirects were followed (0 unless the spec's `maxRedirects` allows some). */
  readonly redirects: number;
}

const DEFAULT_PREVIEW_BYTES = 1024;

async function readPreview(
  response: Response,
  limit: number,
): Promise<{ body: string; truncated: boolean }> {
  if (!response.body) return { body: "", truncated: false };
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > limit) {
      truncated = true;
      // The rest is not needed: stop the download rather than buffer it.
      await reader.cancel();
      break;
    }
  }
  const bytes = Buffer.concat(chunks).subarray(0, limit);
  return {
    body: new TextDecoder("utf-8", { fatal: false }).decode(bytes, { stream: truncated }),
    truncated,
  };
}

function send(hop: Hop, signal: AbortSignal | undefined): Promise<Response> {
  return fetch(hop.url, {
    method: hop.method,
    headers: hop.headers,
    // Redirects are followed (or not) by runHttpAction, which drops credentials across origins.
    redirect: "manual",
    ...(hop.body === undefined ? {} : { body: hop.body }),
    ...(signal ? { signal } : {}),
  });
}

function isExpected(status: number, expect: readonly number[] | undefined): boolean {
  return expect === undefined ? status >= 200 && status < 300 : expect.includes(status);
}

function buildBody(spec: HttpActionSpec, headers: Headers): string | undefined {
  if (spec.body === undefined) return undefined;
  if (typeof spec.body === "string") return spec.body;
  if (!headers.has("content-type")) headers.set("content-type", "application/json");
  return JSON.stringify(spec.body);
}

/**
 * Performs an HTTP action with the global `fetch`: method, URL, headers (with
 * `${NAME}` references resolved from `env`), a string or JSON body. Resolves
 * with the status and duration when the status is expected (any 2xx unless
 * `expectStatus` says otherwise).
 *
 * Redirects are not followed unless the spec's `maxRedirects` allows some: a
 * 3xx is then the response, judged by `expectStatus`. When following, a hop
 * to another origin keeps only the headers in `CROSS_ORIGIN_SAFE_HEADERS`
 * (http-redirects.ts), so credentials such as `Authorization` or `X-Api-Key`
 * never leave the origin they were written for.
 *
 * @throws ActionFailedError with `reason` `status` (details: the
 *   {@link HttpResult}, message with the first 1 KiB of the body), `timeout`
 *   (cause: a TimeoutError), `aborted` (cause: the signal's reason) or
 *   `network` (cause: fetch's error).
 * @throws MissingEnvVarError when a referenced variable is unset.
 */
export async function runHttpAction(
  spec: HttpActionSpec,
  options: RunHttpOptions = {},
): Promise<HttpResult> {
  const label = options.label ?? `${spec.method} ${spec.url}`;
  const headers = new Headers(
    resolveEnvRecord(spec.headers, options.env ?? process.env, "headers", label),
  );
  const body = buildBody(spec, headers);
  const signals = [
    options.signal,
    spec.timeoutMs === undefined ? undefined : AbortSignal.timeout(spec.timeoutMs),
  ];
  const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  const signal = present.length > 1 ? AbortSignal.any(present) : present[0];
  const started = performance.now();

  const maxRedirects = spec.maxRedirects ?? 0;
  const redact = (text: string, cut?: TextCut): string =>
    options.redactor === undefined ? text : options.redactor.redact(text, cut);
  let result: HttpResult;
  let redirected: boolean;
  try {
    let hop: Hop = { url: spec.url, method: spec.method, headers, body };
    let response = await send(hop, signal);
    let redirects = 0;
    while (isRedirect(response) && redirects < maxRedirects) {
      hop = nextHop(hop, response, label);
      await response.body?.cancel();
      redirects++;
      response = await send(hop, signal);
    }
    if (maxRedirects > 0 && isRedirect(response)) {
      await response.body?.cancel();
      throw new ActionFailedError(
        "network",
        `${label} was still redirected after ${redirects} redirects (followRedirects allows ${maxRedirects})`,
        undefined,
      );
    }
    redirected = isRedirect(response);
    const preview = await readPreview(response, options.bodyPreviewBytes ?? DEFAULT_PREVIEW_BYTES);
    result = {
      status: response.status,
      statusText: response.statusText,
      durationMs: performance.now() - started,
      body: redact(preview.body, { end: preview.truncated }),
      bodyTruncated: preview.truncated,
      redirects,
    };
  } catch (error) {
    if (error instanceof ActionFailedError) throw error;
    if (options.signal?.aborted) {
      throw new ActionFailedError("aborted", `${label} was aborted`, undefined, {
        cause: options.signal.reason,
      });
    }
    if (signal?.aborted && spec.timeoutMs !== undefined) {
      throw new ActionFailedError(
        "timeout",
        `${label} timed out after ${spec.timeoutMs} ms`,
        undefined,
        {
          cause: new TimeoutError(spec.timeoutMs),
        },
      );
    }
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ActionFailedError("network", `${label} failed: ${redact(reason)}`, undefined, {
      cause: error,
    });
  }
  if (!isExpected(result.status, spec.expectStatus)) {
    const expected = spec.expectStatus === undefined ? "2xx" : spec.expectStatus.join(" or ");
    throw new ActionFailedError(
      "status",
      `${label} answered ${result.status} ${result.statusText} (expected ${expected})` +
        (redirected ? "; it is a redirect: set `followRedirects: true` to follow it" : "") +
        (result.body ? `: ${result.body}` : ""),
      result,
    );
  }
  return result;
}
