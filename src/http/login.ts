import type { IncomingMessage, ServerResponse } from "node:http";
import { safeLog, type Logger } from "../logger.js";
import {
  clearedSessionCookie,
  isSameOriginOrUnknown,
  sessionCookie,
  type Authenticator,
  type Session,
} from "./auth.js";
import { loginPage } from "./dashboard/pages.js";
import type { FailureLimiter } from "./failure-limiter.js";
import {
  BodyTooLargeError,
  readBody,
  redirect,
  safeNextPath,
  sendError,
  sendJson,
  sendText,
} from "./responses.js";

/** What the login and logout handlers need from the server. */
export interface LoginContext {
  readonly auth: Authenticator;
  readonly limiter: FailureLimiter;
  readonly logger: Logger;
}

/** Per-request facts the server works out once. */
export interface RequestFacts {
  readonly secure: boolean;
  readonly origin: string;
  /** The client's key for limits (see `clientKey`). */
  readonly client: string;
}

const HTML = "text/html; charset=utf-8";

/** Reads a small form or JSON body into fields; null when the type is neither. */
export async function readFields(request: IncomingMessage): Promise<Map<string, string> | null> {
  const type = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  const text = await readBody(request);
  if (type === "application/x-www-form-urlencoded") return new Map(new URLSearchParams(text));
  if (type === "application/json") {
    const fields = new Map<string, string>();
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === "object") {
        for (const [key, value] of Object.entries(parsed)) {
          if (typeof value === "string") fields.set(key, value);
        }
      }
    } catch {
      return fields;
    }
    return fields;
  }
  return null;
}

function wantsJson(request: IncomingMessage): boolean {
  const type = request.headers["content-type"] ?? "";
  return type.startsWith("application/json");
}

/** `GET /login`: the form, or straight on to `next` when the session is valid already. */
export function showLogin(response: ServerResponse, url: URL, loggedIn: boolean): void {
  const next = safeNextPath(url.searchParams.get("next"));
  if (loggedIn) redirect(response, next);
  else sendText(response, 200, HTML, loginPage({ next }));
}

/**
 * `POST /login` with `token` (form or JSON) and optional `next`: checks the
 * token in constant time, creates a session, sets its cookie (HttpOnly,
 * SameSite=Strict, Path=/, Secure on https) and redirects to `next` (forms)
 * or answers `{ ok, csrfToken }` (JSON). Cross-site posts are refused. A
 * wrong token counts towards the client's failures (401, or 429 beyond the
 * limit); the right one is accepted whatever the count.
 */
export async function postLogin(
  context: LoginContext,
  request: IncomingMessage,
  response: ServerResponse,
  facts: RequestFacts,
): Promise<void> {
  const json = wantsJson(request);
  const fail = (status: number, message: string, headers: Record<string, string> = {}): void => {
    if (json)
      sendError(
        response,
        status,
        status === 429 ? "too_many_attempts" : "unauthorized",
        message,
        headers,
      );
    else sendText(response, status, HTML, loginPage({ error: message, next: "/" }), headers);
  };
  if (!isSameOriginOrUnknown(request, facts.origin)) {
    fail(403, "Log in from the dashboard's own page.");
    return;
  }
  // Counted before the body is read, so that concurrent posts see each other's
  // failures; taken back when the token is right (or never checked).
  const attempt = context.limiter.reserve(facts.client);
  let fields: Map<string, string> | null;
  try {
    fields = await readFields(request);
  } catch (error) {
    attempt.release();
    if (error instanceof BodyTooLargeError) {
      sendError(response, 413, "too_large", error.message);
      return;
    }
    throw error;
  }
  if (fields === null) {
    attempt.release();
    sendError(response, 415, "unsupported_media_type", "Send a form or JSON body");
    return;
  }
  const token = fields.get("token") ?? "";
  const next = safeNextPath(fields.get("next"));
  const principal = token === "" ? null : context.auth.identify(token);
  if (principal === null) {
    const wait = attempt.retryAfterSeconds;
    // Beyond the limit failures are not logged one by one: a flood must not flood the log.
    if (wait === 0)
      safeLog(
        context.logger,
        "warn",
        { client: facts.client },
        "Dashboard login refused: wrong token",
      );
    if (wait > 0)
      fail(429, `Too many wrong tokens; try again in ${wait} s.`, { "Retry-After": String(wait) });
    else if (json) fail(401, "That token is not right.");
    else sendText(response, 401, HTML, loginPage({ error: "That token is not right.", next }));
    return;
  }
  attempt.release();
  const session = context.auth.createSession(principal);
  safeLog(
    context.logger,
    "info",
    { client: facts.client, role: principal.role, token: principal.fingerprint },
    "Dashboard login",
  );
  const cookie = sessionCookie(session, facts.secure, context.auth.sessionTtlMs);
  if (json)
    sendJson(
      response,
      200,
      { ok: true, csrfToken: session.csrfToken, role: principal.role },
      { "Set-Cookie": cookie },
    );
  else redirect(response, next, { "Set-Cookie": cookie });
}

/** `POST /logout` (CSRF-checked by the caller): ends the session and clears its cookie. */
export function postLogout(
  context: LoginContext,
  response: ServerResponse,
  session: Session | null,
  secure: boolean,
): void {
  if (session !== null) context.auth.endSession(session);
  redirect(response, "/login", { "Set-Cookie": clearedSessionCookie(secure) });
}

/** The `_csrf` field of a small form body (the logout form), if any. */
export async function formCsrfToken(request: IncomingMessage): Promise<string | undefined> {
  try {
    return (await readFields(request))?.get("_csrf");
  } catch {
    return undefined;
  }
}
