import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { AuditTrail } from "./audit-trail.js";
import { sendError } from "./responses.js";

/**
 * What a token may do: `admin` (the `token` option, `ORCHESTRATOR_TOKEN`)
 * views and acts; `read-only` (`readOnlyToken`, `ORCHESTRATOR_READ_TOKEN`)
 * views only: every state-changing request is refused with 403.
 */
export type Role = "admin" | "read-only";

/** Who made a request: the role of the token presented and its fingerprint (never the token). */
export interface Principal {
  readonly role: Role;
  /** The first 8 hex digits of the token's SHA-256: tells tokens apart in the audit log, useless to log in. */
  readonly fingerprint: string;
}

/** The first 8 hex digits of the SHA-256 of `token`. */
export function tokenFingerprint(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex").slice(0, 8);
}

/** The principal of a request that presented `token` with `role`. */
export function principalFor(role: Role, token: string): Principal {
  return Object.freeze({ role, fingerprint: tokenFingerprint(token) });
}

/** How the audit log names a principal: `admin:1a2b3c4d`, `read-only:9f8e7d6c`. */
export function actorOf(principal: Principal): string {
  return `${principal.role}:${principal.fingerprint}`;
}

/** The action and task a state-changing request is about: `/api/tasks/backup/pause` → pause, backup. */
export function actionOfRequest(
  method: string,
  path: string,
): { action: string; taskName: string | null } {
  const match = /^\/api\/tasks\/([^/]+)(?:\/([^/]+))?$/.exec(path);
  if (match === null) return { action: `${method} ${path}`, taskName: null };
  let taskName: string | null;
  try {
    taskName = decodeURIComponent(match[1] ?? "");
  } catch {
    taskName = null;
  }
  return { action: match[2] ?? `${method.toLowerCase()} task`, taskName };
}

/**
 * Refuses a state-changing request (any method but GET and HEAD, on any
 * route but `/login` and `/logout`) from a read-only principal: answers 403
 * `read_only` and records the refusal in the audit log. Resolves true when it
 * refused. Checked before routing, so every present and future action route
 * is covered.
 */
export async function refuseReadOnly(
  principal: Principal,
  request: { readonly method: string; readonly path: string },
  response: ServerResponse,
  audit: AuditTrail,
): Promise<boolean> {
  if (principal.role !== "read-only") return false;
  const { action, taskName } = actionOfRequest(request.method, request.path);
  await audit.record(principal, action, taskName, "refused", "read-only token");
  sendError(
    response,
    403,
    "read_only",
    "This token is read-only: it may view tasks, history and the audit log, but not trigger, pause, resume, remove or change anything. Use the admin token (ORCHESTRATOR_TOKEN).",
  );
  return true;
}
