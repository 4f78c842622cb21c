import { ActionFailedError } from "../../errors.js";

/** How many redirects `followRedirects: true` follows. */
export const DEFAULT_MAX_REDIRECTS = 5;

/** The most redirects a task may ask to follow. */
export const MAX_REDIRECTS_LIMIT = 20;

/** The statuses that redirect (with a `Location`). */
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * The request headers kept on a redirect to another origin (scheme, host or
 * port differs). Every other header (`Authorization`, `Cookie`, `X-Api-Key`
 * and any custom one) may carry a credential meant for the first origin only,
 * so it is dropped.
 */
export const CROSS_ORIGIN_SAFE_HEADERS: readonly string[] = Object.freeze([
  "accept",
  "accept-encoding",
  "accept-language",
  "cache-control",
  "content-language",
  "content-type",
  "pragma",
  "user-agent",
]);

/** Headers that describe a request body, dropped with the body when a redirect turns the request into a GET. */
const BODY_HEADERS = ["content-encoding", "content-language", "content-location", "content-type"];

/** One request of a chain of redirects. */
export interface Hop {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly body: string | undefined;
}

/** Whether a response is a redirect that names where to go. */
export function isRedirect(response: Response): boolean {
  return REDIRECT_STATUSES.has(response.status) && response.headers.has("location");
}

function originOf(url: string): string {
  return new URL(url).origin;
}

/**
 * The request a redirect response leads to, as browsers make it: 303 (and
 * 301/302 after a POST) become a GET without a body; 307 and 308 repeat the
 * method and body. On a hop to another origin only
 * {@link CROSS_ORIGIN_SAFE_HEADERS} are kept (and stay dropped for the rest of
 * the chain, since `current` no longer has them).
 *
 * @param label - names the request in errors.
 * @throws ActionFailedError (`network`) when `Location` is not an http(s) URL.
 */
export function nextHop(current: Hop, response: Response, label: string): Hop {
  const location = response.headers.get("location") ?? "";
  let target: URL;
  try {
    target = new URL(location, current.url);
  } catch (error) {
    throw new ActionFailedError(
      "network",
      `${label} was redirected (${response.status}) to an invalid Location`,
      undefined,
      { cause: error },
    );
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new ActionFailedError(
      "network",
      `${label} was redirected (${response.status}) to a ${target.protocol} URL; only http and https are followed`,
      undefined,
    );
  }
  const headers = new Headers(current.headers);
  let { method, body } = current;
  const toGet =
    (response.status === 303 && method !== "HEAD") ||
    ((response.status === 301 || response.status === 302) && method === "POST");
  if (toGet) {
    method = "GET";
    body = undefined;
    for (const name of BODY_HEADERS) headers.delete(name);
  }
  if (target.origin !== originOf(current.url)) {
    for (const name of [...headers.keys()]) {
      if (!CROSS_ORIGIN_SAFE_HEADERS.includes(name)) headers.delete(name);
    }
  }
  return { url: target.href, method, headers, body };
}
