import type { IncomingMessage, ServerResponse } from "node:http";
import type { StaticAsset } from "./dashboard/assets.js";

/**
 * The Content-Security-Policy of every response: only our own scripts, styles
 * and images (no inline script or style, no CDN), no framing, forms posting
 * only to ourselves.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** Headers sent on every response. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
});

/** Sets the security headers on a response. */
export function applySecurityHeaders(response: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
}

/**
 * Makes a response whose head could not be written (a header value was
 * refused) fit for an error answer: drops the headers set so far, keeps the
 * security headers, and forgets the reason phrase of the status that failed.
 */
export function resetForError(response: ServerResponse): void {
  for (const name of response.getHeaderNames()) response.removeHeader(name);
  applySecurityHeaders(response);
  // Empty: the next writeHead takes the reason phrase of its own status.
  response.statusMessage = "";
}

/** Sends a JSON body (never cached). */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    ...headers,
  });
  response.end(text);
}

/** Sends a JSON error `{ error, message }`. */
export function sendError(
  response: ServerResponse,
  status: number,
  error: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(response, status, { error, message }, headers);
}

/** Sends a text body with the given content type. */
export function sendText(
  response: ServerResponse,
  status: number,
  contentType: string,
  text: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    ...headers,
  });
  response.end(text);
}

/** Sends a 303 See Other to a local path. */
export function redirect(
  response: ServerResponse,
  location: string,
  headers: Record<string, string | string[]> = {},
): void {
  response.writeHead(303, { Location: location, "Cache-Control": "no-store", ...headers });
  response.end();
}

/** Serves a static asset to GET or HEAD, with its ETag (304 when the client has it). */
export function sendAsset(
  request: IncomingMessage,
  response: ServerResponse,
  asset: StaticAsset,
): void {
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

/** Sends 405 with the allowed methods. */
export function methodNotAllowed(response: ServerResponse, allow: string): void {
  sendError(response, 405, "method_not_allowed", `Use ${allow}`, { Allow: allow });
}

/** The body was larger than allowed. */
export class BodyTooLargeError extends Error {}

/** Reads a request body as UTF-8 text, refusing more than `limitBytes`. */
export async function readBody(request: IncomingMessage, limitBytes = 8192): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new BodyTooLargeError(`The body is over ${limitBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/**
 * A local path safe to redirect to after login: starts with one `/`, and is
 * neither protocol-relative (`//host`) nor a backslash trick; else `/`. It
 * comes back percent-encoded (`/Ā` gives `/%C4%80`), fit for a Location header.
 */
export function safeNextPath(next: string | null | undefined): string {
  if (typeof next !== "string" || !next.startsWith("/") || next.startsWith("//")) return "/";
  if (next.includes("\\") || [...next].some((char) => char.charCodeAt(0) < 0x20)) return "/";
  const base = "http://next.invalid";
  const url = new URL(next, base);
  if (url.origin !== base) return "/";
  return url.pathname + url.search + url.hash;
}
