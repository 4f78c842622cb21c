import { describeMs } from "../../time/duration.js";
import type { OutboxWindow } from "../../store/notification-outbox.js";

/** How many messages a task's channel may send per window. */
export interface RateLimit {
  /** @defaultValue 5 */
  readonly maxPerWindow: number;
  /** @defaultValue 3_600_000 (one hour) */
  readonly windowMs: number;
}

/** The daemon's rate limit: 5 messages per task and channel per hour. */
export const RATE_LIMIT_DEFAULTS = Object.freeze({
  maxPerWindow: 5,
  windowMs: 3_600_000,
}) satisfies Required<RateLimit>;

/** What to do with the next message of a task's channel. */
export type RateDecision =
  | { readonly action: "suppress" }
  | {
      readonly action: "send";
      /** Lines to add to the message: what was held back, and that the limit is reached. */
      readonly notes: readonly string[];
    };

/**
 * Decides from the outbox's counts (shared by every node): send while fewer
 * than `maxPerWindow` were sent in the window, the last of them saying that
 * further messages are held back; suppress (record, not send) beyond that;
 * the next message sent says how many were held back.
 */
export function rateDecision(
  window: OutboxWindow,
  limit: RateLimit = RATE_LIMIT_DEFAULTS,
): RateDecision {
  if (window.sent >= limit.maxPerWindow) return { action: "suppress" };
  const notes: string[] = [];
  if (window.held > 0)
    notes.push(
      `(${window.held} notification${window.held === 1 ? " was" : "s were"} held back by the rate limit before this one)`,
    );
  if (window.sent === limit.maxPerWindow - 1)
    notes.push(
      `(rate limit reached: ${limit.maxPerWindow} notifications for this task in ${describeMs(limit.windowMs)}; further ones are recorded but not sent until the window frees up)`,
    );
  return { action: "send", notes };
}
