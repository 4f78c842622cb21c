import type { Zone } from "../time/zone.js";
import type { CompiledCron } from "./compiled.js";
import { MAX_DST_CHANGE_MS, type DstPolicy } from "./next.js";

/**
 * One daylight-saving change of a zone and what it does to an expression's
 * runs, by the same rules `next()` follows (see `next.ts`).
 *
 * - `gap` (spring forward): the local times in [localFrom, localTo) never
 *   exist. `matching` of the expression's local times fall in it; with
 *   `dst.gap: "shift"` they become one run at `atMs` (`effect: "shifted"`),
 *   with `"skip"` they do not happen (`effect: "skipped"`).
 * - `repeat` (fall back): the local times in [localFrom, localTo) happen
 *   twice, first before `atMs` and again from it. `matching` of the
 *   expression's local times fall in it; with `dst.overlap: "first"` each runs
 *   once, on the first pass (`effect: "once"`), with `"both"` on both passes
 *   (`effect: "twice"`).
 *
 * `effect` is `"none"` when no local time of the expression falls in the
 * interval. Offset changes of more than 3 hours are changes of clock, not
 * daylight saving, and are not reported.
 */
export interface DstChange {
  /** The UTC instant of the change, epoch ms. */
  readonly atMs: number;
  readonly kind: "gap" | "repeat";
  /** Local minus UTC before and after the change, ms. */
  readonly offsetBeforeMs: number;
  readonly offsetAfterMs: number;
  /** The skipped or repeated local interval, as naive local epoch ms (local time read as UTC). */
  readonly localFromMs: number;
  readonly localToMs: number;
  /** How many of the expression's local times (whole seconds) fall in that interval. */
  readonly matching: number;
  readonly effect: "shifted" | "skipped" | "once" | "twice" | "none";
}

const MAX_CHANGES = 10_000;

/**
 * The daylight-saving changes of `zone` with afterMs < atMs <= throughMs, in
 * order, each with its effect on the expression (see {@link DstChange}).
 */
export function dstChangesBetween(
  cron: CompiledCron,
  zone: Zone,
  dst: DstPolicy,
  afterMs: number,
  throughMs: number,
): DstChange[] {
  const changes: DstChange[] = [];
  if (zone.fixed) return changes;
  let u = afterMs + 1;
  while (u <= throughMs && changes.length < MAX_CHANGES) {
    const seg = zone.segmentAt(u);
    const jump = seg.offsetMs - seg.prevOffsetMs;
    if (seg.start > afterMs && jump !== 0 && Math.abs(jump) <= MAX_DST_CHANGE_MS) {
      changes.push(describeChange(cron, dst, seg.start, seg.prevOffsetMs, seg.offsetMs));
    }
    if (!Number.isFinite(seg.end)) break;
    u = seg.end;
  }
  return changes;
}

function describeChange(
  cron: CompiledCron,
  dst: DstPolicy,
  atMs: number,
  before: number,
  after: number,
): DstChange {
  const gap = after > before;
  const localFromMs = atMs + (gap ? before : after);
  const localToMs = atMs + (gap ? after : before);
  const matching = cron.countLocal(localFromMs, localToMs - 1000);
  let effect: DstChange["effect"] = "none";
  if (matching > 0) {
    if (gap) effect = dst.gap === "shift" ? "shifted" : "skipped";
    else effect = dst.overlap === "first" ? "once" : "twice";
  }
  return {
    atMs,
    kind: gap ? "gap" : "repeat",
    offsetBeforeMs: before,
    offsetAfterMs: after,
    localFromMs,
    localToMs,
    matching,
    effect,
  };
}
