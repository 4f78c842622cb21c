import { MAX_OFFSET_SPAN_MS, type Zone, type ZoneSegment } from "../time/zone.js";
import type { CompiledCron } from "./compiled.js";

/**
 * How runs inside daylight-saving changes behave (docs/guides/cron.md, "Daylight saving").
 * Only offset changes of at most 3 hours are daylight saving; bigger ones are
 * changes of clock, which this policy does not touch.
 */
export interface DstPolicy {
  /** Runs whose local time is skipped by a spring-forward: run once right after the jump, or not at all. */
  readonly gap: "shift" | "skip";
  /** Runs whose local time repeats in a fall-back: on the first pass only, or on both. */
  readonly overlap: "first" | "both";
}

const MAX_SEGMENT_STEPS = 100_000;

/**
 * The largest offset change that counts as daylight saving (3 hours). A bigger
 * one (Pacific/Apia went from UTC-10 to UTC+14 and skipped 2011-12-30) is a
 * change of clock: the {@link DstPolicy} does not apply, local times that never
 * existed never run and local times that occur twice run twice. cronie's daemon
 * draws the same line (src/cron.c: a time jump of more than `3 * MINUTE_COUNT`
 * minutes is "large": it moves its virtual time and runs only the current minute).
 */
export const MAX_DST_CHANGE_MS = 3 * 3_600_000;

/** True when the change that began `seg` skipped local time that `dst` shifts to its end. */
function shiftsGap(seg: ZoneSegment, dst: DstPolicy): boolean {
  const jump = seg.offsetMs - seg.prevOffsetMs;
  return dst.gap === "shift" && jump > 0 && jump <= MAX_DST_CHANGE_MS;
}

/** True when the change that began `seg` repeated local time that `dst` runs only once. */
function firstPassOnly(seg: ZoneSegment, dst: DstPolicy): boolean {
  const jump = seg.prevOffsetMs - seg.offsetMs;
  return dst.overlap === "first" && jump > 0 && jump <= MAX_DST_CHANGE_MS;
}

/*
 * The run instants of an expression in a zone are, for every segment of
 * constant offset o starting at A (previous offset p):
 *   - every instant u in the segment whose local time u + o matches, except,
 *     with overlap "first" after a fall-back (0 < p - o <= 3 h), local times
 *     in [A + o, A + p), which already ran on the first pass;
 *   - with gap "shift" after a spring-forward (0 < o - p <= 3 h), the instant
 *     A itself when some local time in the skipped interval [A + p, A + o) matches.
 * Changes of more than 3 hours get neither exception (MAX_DST_CHANGE_MS).
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
    if (u === seg.start && shiftsGap(seg, dst)) {
      if (cron.nextLocal(seg.start + seg.prevOffsetMs) < seg.start + o) return seg.start;
    }
    let local = u + o;
    if (firstPassOnly(seg, dst)) local = Math.max(local, seg.start + seg.prevOffsetMs);
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
    const excludedBelow = firstPassOnly(seg, dst) ? seg.start + seg.prevOffsetMs : seg.start + o;
    if (t >= excludedBelow) return t - o;
    if (shiftsGap(seg, dst)) {
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

/**
 * Visits the run instants in (afterMs, throughMs] one segment at a time, in
 * order, with the definition above: `shiftedMs`, the segment's start when a
 * spring-forward shifts a skipped run to it (else NaN), then the matching local
 * times in [fromLocal, throughLocal], each the instant `local - offsetMs`.
 * Stops when `visit` returns false.
 */
function forEachSpan(
  cron: CompiledCron,
  zone: Zone,
  dst: DstPolicy,
  afterMs: number,
  throughMs: number,
  visit: (shiftedMs: number, fromLocal: number, throughLocal: number, offsetMs: number) => boolean,
): void {
  const last = Math.floor(throughMs / 1000) * 1000;
  let u = Math.floor(afterMs / 1000) * 1000 + 1000;
  while (u <= last) {
    const seg = zone.segmentAt(u);
    const o = seg.offsetMs;
    let fromLocal = u + o;
    let shiftedMs = Number.NaN;
    if (u === seg.start && shiftsGap(seg, dst)) {
      if (cron.nextLocal(seg.start + seg.prevOffsetMs) < seg.start + o) {
        shiftedMs = seg.start;
        // The start's own local time, should it match, is that same instant.
        fromLocal += 1000;
      }
    }
    if (firstPassOnly(seg, dst)) fromLocal = Math.max(fromLocal, seg.start + seg.prevOffsetMs);
    if (!visit(shiftedMs, fromLocal, Math.min(last, seg.end - 1000) + o, o)) return;
    u = seg.end;
  }
}

/**
 * How many run instants t satisfy afterMs < t <= throughMs: exactly as many as
 * walking {@link nextInstant} from `afterMs` finds, at the cost of one step per
 * zone segment and month in the range, not per run.
 */
export function countInstants(
  cron: CompiledCron,
  zone: Zone,
  dst: DstPolicy,
  afterMs: number,
  throughMs: number,
): number {
  let count = 0;
  forEachSpan(cron, zone, dst, afterMs, throughMs, (shiftedMs, fromLocal, throughLocal) => {
    if (!Number.isNaN(shiftedMs)) count++;
    count += cron.countLocal(fromLocal, throughLocal);
    return true;
  });
  return count;
}

/** The first `max` run instants t with afterMs < t <= throughMs, in order (as {@link nextInstant} walks them). */
export function listInstants(
  cron: CompiledCron,
  zone: Zone,
  dst: DstPolicy,
  afterMs: number,
  throughMs: number,
  max: number,
): number[] {
  const out: number[] = [];
  if (max <= 0) return out;
  forEachSpan(cron, zone, dst, afterMs, throughMs, (shiftedMs, fromLocal, throughLocal, o) => {
    if (!Number.isNaN(shiftedMs)) out.push(shiftedMs);
    cron.listLocal(fromLocal, throughLocal, o, max, out);
    return out.length < max;
  });
  return out;
}
