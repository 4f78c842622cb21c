import { MAX_OFFSET_SPAN_MS, type Zone } from "../time/zone.js";
import type { CompiledCron } from "./compiled.js";

/** How runs inside daylight-saving changes behave (docs/guides/cron.md, "Daylight saving"). */
export interface DstPolicy {
  /** Runs whose local time is skipped by a spring-forward: run once right after the jump, or not at all. */
  readonly gap: "shift" | "skip";
  /** Runs whose local time repeats in a fall-back: on the first pass only, or on both. */
  readonly overlap: "first" | "both";
}

const MAX_SEGMENT_STEPS = 100_000;

/*
 * The run instants of an expression in a zone are, for every segment of
 * constant offset o starting at A (previous offset p):
 *   - every instant u in the segment whose local time u + o matches, except,
 *     with overlap "first" after a fall-back (p > o), local times in
 *     [A + o, A + p), which already ran on the first pass;
 *   - with gap "shift" after a spring-forward (p < o), the instant A itself
 *     when some local time in the skipped interval [A + p, A + o) matches.
 * next and prev walk segments with that one definition, so they agree.
 */

/** The first run instant strictly after `fromMs`, or NaN when there is none. */
export function nextInstant(
  cron: CompiledCron,
  zone: Zone,
  dst: DstPolicy,
  fromMs: number,
): number {
  let u = Math.floor(fromMs / 1000) * 1000 + 1000;
  for (let step = 0; step < MAX_SEGMENT_STEPS; step++) {
    const seg = zone.segmentAt(u);
    const o = seg.offsetMs;
    if (u === seg.start && seg.prevOffsetMs < o && dst.gap === "shift") {
      if (cron.nextLocal(seg.start + seg.prevOffsetMs) < seg.start + o) return seg.start;
    }
    let local = u + o;
    if (dst.overlap === "first" && seg.prevOffsetMs > o) {
      local = Math.max(local, seg.start + seg.prevOffsetMs);
    }
    const t = cron.nextLocal(local);
    if (Number.isNaN(t)) return NaN;
    if (t < seg.end + o) return t - o;
    // Far from the segment's end, every later segment's local times lie after
    // `local`, so nothing before t's neighbourhood can match: jump there.
    u = seg.end - u >= MAX_OFFSET_SPAN_MS ? Math.max(seg.end, t - o - MAX_OFFSET_SPAN_MS) : seg.end;
  }
  return NaN;
}

/** The last run instant strictly before `fromMs`, or NaN when there is none. */
export function prevInstant(
  cron: CompiledCron,
  zone: Zone,
  dst: DstPolicy,
  fromMs: number,
): number {
  let u = Math.ceil(fromMs / 1000) * 1000 - 1000;
  for (let step = 0; step < MAX_SEGMENT_STEPS; step++) {
    const seg = zone.segmentAt(u);
    const o = seg.offsetMs;
    const t = cron.prevLocal(u + o);
    if (Number.isNaN(t)) return NaN;
    const excludedBelow =
      dst.overlap === "first" && seg.prevOffsetMs > o
        ? seg.start + seg.prevOffsetMs
        : seg.start + o;
    if (t >= excludedBelow) return t - o;
    if (dst.gap === "shift" && seg.prevOffsetMs < o) {
      if (cron.nextLocal(seg.start + seg.prevOffsetMs) < seg.start + o) return seg.start;
    }
    const below = seg.start + o;
    u =
      u - seg.start >= MAX_OFFSET_SPAN_MS && t < below
        ? Math.min(seg.start - 1000, t - o + MAX_OFFSET_SPAN_MS)
        : seg.start - 1000;
  }
  return NaN;
}
