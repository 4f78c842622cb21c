import { countBelow60, next30, next60, popcount } from "./bits.js";

const DAY_SECONDS = 86_400;

/**
 * The times of day (whole seconds since midnight) that match an expression's
 * second, minute and hour fields: how many fall in a range and which, without
 * visiting the others.
 */
export class TimesOfDay {
  /** How many times of a whole day match. */
  readonly perDay: number;
  readonly #secLo: number;
  readonly #secHi: number;
  readonly #minLo: number;
  readonly #minHi: number;
  readonly #hours: number;
  readonly #perHour: number;
  readonly #perMinute: number;

  constructor(secLo: number, secHi: number, minLo: number, minHi: number, hours: number) {
    this.#secLo = secLo;
    this.#secHi = secHi;
    this.#minLo = minLo;
    this.#minHi = minHi;
    this.#hours = hours;
    this.#perMinute = popcount(secLo) + popcount(secHi);
    this.#perHour = (popcount(minLo) + popcount(minHi)) * this.#perMinute;
    this.perDay = popcount(hours) * this.#perHour;
  }

  /** The first matching time of day at or after `sod` (whole seconds), or -1 when none is left that day. */
  next(sod: number): number {
    let h = Math.floor(sod / 3600);
    let mi = Math.floor((sod % 3600) / 60);
    let s = sod % 60;
    for (;;) {
      const h2 = next30(this.#hours, h);
      if (h2 < 0) return -1;
      if (h2 !== h) {
        h = h2;
        mi = s = 0;
      }
      const mi2 = next60(this.#minLo, this.#minHi, mi);
      if (mi2 < 0) {
        h++;
        mi = s = 0;
        continue;
      }
      if (mi2 !== mi) {
        mi = mi2;
        s = 0;
      }
      const s2 = next60(this.#secLo, this.#secHi, s);
      if (s2 >= 0) return h * 3600 + mi * 60 + s2;
      mi++;
      s = 0;
    }
  }

  /** How many matching times of day are below `sod` (0 to 86,400 seconds). */
  countBelow(sod: number): number {
    if (sod >= DAY_SECONDS) return this.perDay;
    const h = Math.floor(sod / 3600);
    const mi = Math.floor((sod % 3600) / 60);
    const s = sod % 60;
    let count = popcount(this.#hours & ((1 << h) - 1)) * this.#perHour;
    if ((this.#hours >>> h) & 1) {
      count += countBelow60(this.#minLo, this.#minHi, mi) * this.#perMinute;
      if (next60(this.#minLo, this.#minHi, mi) === mi) {
        count += countBelow60(this.#secLo, this.#secHi, s);
      }
    }
    return count;
  }

  /**
   * Appends `baseMs + 1000 * t` for each matching time of day t from `fromSod`
   * through `throughSod`, in order, while `out` holds fewer than `max`.
   */
  list(fromSod: number, throughSod: number, baseMs: number, max: number, out: number[]): void {
    const h0 = Math.floor(fromSod / 3600);
    const mi0 = Math.floor((fromSod % 3600) / 60);
    for (let h = next30(this.#hours, h0); h >= 0; h = next30(this.#hours, h + 1)) {
      const inFirstHour = h === h0;
      for (
        let mi = next60(this.#minLo, this.#minHi, inFirstHour ? mi0 : 0);
        mi >= 0;
        mi = next60(this.#minLo, this.#minHi, mi + 1)
      ) {
        const s0 = inFirstHour && mi === mi0 ? fromSod % 60 : 0;
        for (
          let s = next60(this.#secLo, this.#secHi, s0);
          s >= 0;
          s = next60(this.#secLo, this.#secHi, s + 1)
        ) {
          const sod = h * 3600 + mi * 60 + s;
          if (sod > throughSod || out.length >= max) return;
          out.push(baseMs + sod * 1000);
        }
      }
    }
  }
}
