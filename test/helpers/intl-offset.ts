/**
 * An independent oracle for time-zone offsets: local minus UTC, in ms, straight
 * from Intl at the whole second of `utcMs` (no caching of transitions), for
 * checking src/time/zone.ts and the cron engine against.
 */
const formats = new Map<string, Intl.DateTimeFormat>();

export function intlOffset(zone: string, utcMs: number): number {
  let format = formats.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formats.set(zone, format);
  }
  const whole = Math.floor(utcMs / 1000) * 1000;
  const p: Record<string, number> = {};
  for (const part of format.formatToParts(whole)) p[part.type] = Number(part.value);
  const local = Date.UTC(
    p.year ?? 0,
    (p.month ?? 1) - 1,
    p.day ?? 1,
    p.hour ?? 0,
    p.minute ?? 0,
    p.second ?? 0,
  );
  return local - whole;
}
