/**
 * Bit arithmetic on the compiled fields: a set of values below 30 is one
 * mask (bit v for value v); a 0-59 set is two 30-bit masks, `lo` for 0-29
 * and `hi` for 30-59 (bit v-30).
 */

/** Index of the lowest set bit (-1 for 0). */
export const ctz = (x: number): number => 31 - Math.clz32(x & -x);
/** Index of the highest set bit (-1 for 0). */
export const highBit = (x: number): number => 31 - Math.clz32(x);

/** Smallest value >= v in a 0-59 set held as two 30-bit masks, or -1. */
export function next60(lo: number, hi: number, v: number): number {
  if (v < 30) {
    const r = lo >>> v;
    if (r !== 0) return v + ctz(r);
    return hi !== 0 ? 30 + ctz(hi) : -1;
  }
  if (v >= 60) return -1;
  const r = hi >>> (v - 30);
  return r !== 0 ? v + ctz(r) : -1;
}

/** Largest value <= v in a 0-59 set held as two 30-bit masks, or -1. */
export function prev60(lo: number, hi: number, v: number): number {
  if (v >= 30) {
    const r = hi & ((2 << Math.min(v - 30, 29)) - 1);
    if (r !== 0) return 30 + highBit(r);
    return lo !== 0 ? highBit(lo) : -1;
  }
  if (v < 0) return -1;
  const r = lo & ((2 << v) - 1);
  return r !== 0 ? highBit(r) : -1;
}

/** Smallest value >= v in a set of values below 30 held as a mask, or -1. */
export function next30(mask: number, v: number): number {
  if (v >= 30) return -1;
  const r = mask >>> v;
  return r !== 0 ? v + ctz(r) : -1;
}

/** Largest value <= v in a set of values below 30 held as a mask, or -1. */
export function prev30(mask: number, v: number): number {
  if (v < 0) return -1;
  const r = mask & ((2 << Math.min(v, 29)) - 1);
  return r !== 0 ? highBit(r) : -1;
}

/** Number of set bits of a 32-bit integer. */
export function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Number of values below v (0-60) in a 0-59 set held as two 30-bit masks. */
export function countBelow60(lo: number, hi: number, v: number): number {
  if (v <= 30) return popcount(lo & ((1 << v) - 1));
  return popcount(lo) + popcount(hi & ((1 << (v - 30)) - 1));
}
