import type { Zone } from "./zone.js";

const DAY_MS = 86_400_000;
const WITH_OFFSET =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/i;
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** What {@link parseInstantText} accepts, for error messages. */
export const INSTANT_TEXT_FORMS =
  "an ISO 8601 instant (2024-03-10T05:30:00Z, 2024-03-10T00:30:00-05:00) or a local date and time in the zone (2024-03-10, 2024-03-10T00:30)";

/**
 * An instant written as ISO 8601 with `Z` or an offset, or as a local date
 * (midnight) or date and time without one, read in `zone` (a repeated local
 * time is its first pass; a skipped one is read with the offset before the
 * change). NaN when malformed.
 */
export function parseInstantText(text: string, zone: Zone): number {
  if (WITH_OFFSET.test(text)) return Date.parse(text);
  const m = LOCAL.exec(text);
  if (m === null) return Number.NaN;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? "0")) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return Number.NaN;
  const naive = Date.UTC(y, mo - 1, d, h, mi, s);
  if (new Date(naive).getUTCDate() !== d) return Number.NaN;
  // The offsets a day either side: a repeated local time fits both (take the earlier
  // instant, its first pass), a skipped one fits neither (read it with the offset before).
  const before = naive - zone.offsetAt(naive - DAY_MS);
  const after = naive - zone.offsetAt(naive + DAY_MS);
  const fits = [before, after].filter((t) => zone.offsetAt(t) === naive - t);
  return fits.length === 0 ? before : Math.min(...fits);
}

/** "+02:00", "-05:00", "+05:45" for an offset in ms. */
export function formatOffset(offsetMs: number): string {
  const sign = offsetMs < 0 ? "-" : "+";
  const minutes = Math.abs(Math.round(offsetMs / 60_000));
  const hh = String(Math.floor(minutes / 60)).padStart(2, "0");
  const mm = String(minutes % 60).padStart(2, "0");
  return `${sign}${hh}:${mm}`;
}

/** The instant as local ISO 8601 in `zone`, with its offset: "2024-03-10T03:00:00-04:00". */
export function formatLocalIso(ms: number, zone: Zone): string {
  const offset = zone.offsetAt(ms);
  return new Date(ms + offset).toISOString().slice(0, 19) + formatOffset(offset);
}
