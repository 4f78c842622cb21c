import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Clock } from "../time/clock.js";
import { principalFor, type Principal } from "./roles.js";

/** How a request proved it holds the token. */
export type AuthMethod = "bearer" | "session";

/** A logged-in browser session: kept in memory, one per successful login. */
export interface Session {
  readonly id: string;
  /** Synchronizer token that state-changing requests of this session must echo. */
  readonly csrfToken: string;
  /** Epoch ms (the scheduler's clock) after which the session is refused. */
  expiresAtMs: number;
  /** The role and fingerprint of the token that logged in. */
  readonly principal: Principal;
}

/** The outcome of authenticating one request. */
export type AuthResult =
  | { readonly ok: true; readonly method: "bearer"; readonly principal: Principal }
  | {
      readonly ok: true;
      readonly method: "session";
      readonly session: Session;
      readonly principal: Principal;
    }
  | { readonly ok: false; readonly reason: "missing" | "invalid-token" | "invalid-session" };

/** Options of {@link Authenticator}. */
export interface AuthenticatorOptions {
  /** The admin token. */
  readonly token: string;
  /** A second token that may only view (see `roles.ts`); none when absent. */
  readonly readOnlyToken?: string;
  readonly clock: Clock;
  /**
   * Idle lifetime of a session; each authenticated request extends it.
   * @defaultValue 43200000 (12 h)
   */
  readonly sessionTtlMs?: number;
  /**
   * Most sessions kept at once; the oldest is dropped beyond it.
   * @defaultValue 1000
   */
  readonly maxSessions?: number;
}

/** Defaults of {@link AuthenticatorOptions}. */
export const AUTH_DEFAULTS = Object.freeze({
  sessionTtlMs: 12 * 60 * 60 * 1000,
  maxSessions: 1000,
} satisfies Required<Pick<AuthenticatorOptions, "sessionTtlMs" | "maxSessions">>);

/** Name of the session cookie; the `__Host-` prefix (which requires Secure) is used on https. */
export function sessionCookieName(secure: boolean): string {
  return secure ? "__Host-orchestrator_session" : "orchestrator_session";
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Compares two secrets in constant time. Both are hashed first, so the
 * comparison takes the same time whatever their lengths.
 */
export function safeEqual(given: string, expected: string): boolean {
  return timingSafeEqual(sha256(given), sha256(expected));
}

/** A fresh random token (32 bytes, base64url): for generated dashboard tokens, session ids and CSRF tokens. */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Parses a Cookie header into name → value (first occurrence wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (header === undefined) return cookies;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

/** The Set-Cookie value that stores a session (HttpOnly, SameSite=Strict, Path=/, Secure on https). */
export function sessionCookie(session: Session, secure: boolean, maxAgeMs: number): string {
  return [
    `${sessionCookieName(secure)}=${session.id}`,
    "HttpOnly",
    "SameSite=Strict",
    "Path=/",
    `Max-Age=${Math.floor(maxAgeMs / 1000)}`,
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}

/** The Set-Cookie value that deletes the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return [
    `${sessionCookieName(secure)}=`,
    "HttpOnly",
    "SameSite=Strict",
    "Path=/",
    "Max-Age=0",
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}

/**
 * Checks bearer tokens and session cookies against one shared token, and keeps
 * the sessions created by logging in. Secrets are compared in constant time;
 * session ids are kept only as SHA-256 hashes, so a heap dump does not hand
 * out live cookies.
 */
export class Authenticator {
  readonly #tokens: readonly { readonly token: string; readonly principal: Principal }[];
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #maxSessions: number;
  /** Keyed by the hex SHA-256 of the session id; insertion order = creation order. */
  readonly #sessions = new Map<string, Session>();

  constructor(options: AuthenticatorOptions) {
    this.#tokens = [
      { token: options.token, principal: principalFor("admin", options.token) },
      ...(options.readOnlyToken === undefined
        ? []
        : [
            {
              token: options.readOnlyToken,
              principal: principalFor("read-only", options.readOnlyToken),
            },
          ]),
    ];
    this.#clock = options.clock;
    this.#ttlMs = options.sessionTtlMs ?? AUTH_DEFAULTS.sessionTtlMs;
    this.#maxSessions = options.maxSessions ?? AUTH_DEFAULTS.maxSessions;
  }

  /** Idle lifetime of a session in ms. */
  get sessionTtlMs(): number {
    return this.#ttlMs;
  }

  /** True when `candidate` is one of the tokens. */
  checkToken(candidate: string): boolean {
    return this.identify(candidate) !== null;
  }

  /**
   * The principal of the token `candidate` is, or null. Every token is
   * compared (in constant time), whichever matches, so the time taken does
   * not tell which role a guess came close to.
   */
  identify(candidate: string): Principal | null {
    let found: Principal | null = null;
    for (const { token, principal } of this.#tokens) {
      if (safeEqual(candidate, token)) found = principal;
    }
    return found;
  }

  /** Creates a session for `principal` (after a successful login). */
  createSession(principal: Principal): Session {
    const session: Session = {
      id: randomToken(),
      csrfToken: randomToken(),
      expiresAtMs: this.#clock.nowMs() + this.#ttlMs,
      principal,
    };
    this.#sessions.set(sha256(session.id).toString("hex"), session);
    while (this.#sessions.size > this.#maxSessions) {
      const oldest = this.#sessions.keys().next();
      if (oldest.done === true) break;
      this.#sessions.delete(oldest.value);
    }
    return session;
  }

  /** Forgets a session (logout). */
  endSession(session: Session): void {
    this.#sessions.delete(sha256(session.id).toString("hex"));
  }

  /** Authenticates a request by its bearer header, else by its session cookie. */
  authenticate(request: IncomingMessage, secure: boolean): AuthResult {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
      const principal = match?.[1] === undefined ? null : this.identify(match[1]);
      if (principal !== null) return { ok: true, method: "bearer", principal };
      return { ok: false, reason: "invalid-token" };
    }
    const id = parseCookies(request.headers.cookie).get(sessionCookieName(secure));
    if (id === undefined || id === "") return { ok: false, reason: "missing" };
    // A Map lookup by hash: the id itself is never compared byte by byte.
    const key = sha256(id).toString("hex");
    const session = this.#sessions.get(key);
    const nowMs = this.#clock.nowMs();
    if (session === undefined) return { ok: false, reason: "invalid-session" };
    if (session.expiresAtMs <= nowMs) {
      this.#sessions.delete(key);
      return { ok: false, reason: "invalid-session" };
    }
    session.expiresAtMs = nowMs + this.#ttlMs;
    return { ok: true, method: "session", session, principal: session.principal };
  }

  /** True while `session` is logged in: not ended, not dropped for newer ones, not expired. */
  isLive(session: Session): boolean {
    return (
      this.#sessions.get(sha256(session.id).toString("hex")) === session &&
      session.expiresAtMs > this.#clock.nowMs()
    );
  }

  /** Forgets every session. */
  clear(): void {
    this.#sessions.clear();
  }
}

/** Why a state-changing request was refused, or null when it may proceed. */
export type CsrfRefusal = "missing-csrf-token" | "bad-csrf-token" | "cross-origin" | "no-origin";

/**
 * Where the browser says a request comes from: `same` (Sec-Fetch-Site
 * `same-origin`, or an Origin equal to ours, and nothing contradicting it),
 * `cross` (another site, or an opaque `null` origin with nothing better), or
 * `unknown` (neither header: not a browser, or a very old one).
 */
export function requestSite(
  request: IncomingMessage,
  ownOrigin: string,
): "same" | "cross" | "unknown" {
  const site = request.headers["sec-fetch-site"];
  const origin = request.headers.origin;
  if (site !== undefined && site !== "same-origin") return "cross";
  // Browsers send `Origin: null` under some referrer policies; Sec-Fetch-Site then decides.
  if (origin !== undefined && origin !== "null" && origin !== ownOrigin) return "cross";
  if (site === "same-origin" || (origin !== undefined && origin === ownOrigin)) return "same";
  return origin === undefined ? "unknown" : "cross";
}

/**
 * Cross-site request forgery check of a cookie-authenticated, state-changing
 * request: the browser must say the request is same-origin
 * (`Sec-Fetch-Site: same-origin`, or an `Origin` equal to ours), and the
 * session's synchronizer token must come back (header `X-CSRF-Token`, or
 * `formToken` from a form field). A request that says nothing about its
 * origin is refused too: every browser that can hold the cookie sends
 * Origin or Sec-Fetch-Site on a POST.
 */
export function checkCsrf(
  request: IncomingMessage,
  session: Session,
  ownOrigin: string,
  formToken?: string,
): CsrfRefusal | null {
  const site = requestSite(request, ownOrigin);
  if (site === "unknown") return "no-origin";
  if (site === "cross") return "cross-origin";
  const header = request.headers["x-csrf-token"];
  const given = typeof header === "string" ? header : formToken;
  if (given === undefined || given === "") return "missing-csrf-token";
  return safeEqual(given, session.csrfToken) ? null : "bad-csrf-token";
}

/**
 * Checks that a login comes from our own pages when the browser says where
 * it comes from (`Sec-Fetch-Site: none` is a user typing or bookmarking).
 * Clients that send neither header (curl) are let through: they hold no
 * cookie to abuse.
 */
export function isSameOriginOrUnknown(request: IncomingMessage, ownOrigin: string): boolean {
  if (request.headers["sec-fetch-site"] === "none" && request.headers.origin === undefined)
    return true;
  return requestSite(request, ownOrigin) !== "cross";
}
