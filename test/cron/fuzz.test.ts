import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CronSyntaxError, parseCron } from "../../src/cron/index.js";

/**
 * 100,000 random and mutated strings: each either parses or throws
 * CronSyntaxError — never a TypeError, never another error,
 * never a hang. Strings that parse must give a Date after `from` or null from
 * next() and a Date before `from` or null from prev(). Errors must carry a
 * field, a column inside the text and the token found at that column.
 * Deterministic: a seeded generator, FUZZ_SEED to explore other seeds.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_c0de);
const TOTAL = 100_000;

/** mulberry32: small, fast, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const random = rng(SEED);
const int = (n: number): number => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

const VALID = [
  "* * * * *",
  "*/5 * * * *",
  "0 0 * * *",
  "30 2 * * *",
  "0 1-3 * * *",
  "0 */2 * * *",
  "5/20 8-18/2 * * MON-FRI",
  "0,30 8,17 1,15 * MON",
  "0 0 */2 * 1",
  "0 0 L * *",
  "0 0 L-3 * *",
  "0 0 15W * *",
  "0 0 LW * *",
  "0 0 * * 5L",
  "0 0 * * 5#3",
  "0 0 ? * FRI-SUN",
  "0 12 1 JAN,jul ?",
  "*/20 * * * * *",
  "0 0 0 1 1 * 2030",
  "0 30 9 ? * MON-FRI 2024-2030/2",
  "@yearly",
  "@annually",
  "@monthly",
  "@weekly",
  "@daily",
  "@midnight",
  "@hourly",
  "0 0 30 2 *",
  "59 23 31 12 7",
];
const CRON_ALPHABET = "0123456789*/-,?LW#@ \tJANFEBMARPRYUNLGSOCTVDSUMOTUEWEDTHFRISATlwxyz";
const FIELD_POOL = [
  "*",
  "?",
  "0",
  "59",
  "60",
  "-1",
  "*/0",
  "*/15",
  "1-5",
  "5-1",
  "1/2",
  "L",
  "L-5",
  "LW",
  "15W",
  "5L",
  "5#3",
  "5#9",
  "MON",
  "MONDAY",
  "jan",
  "SUN-SUN",
  "FRI-SUN",
  "1,2,,3",
  ",",
  "#",
  "W",
  "99999999999999999999",
  "1e3",
  "0x1f",
  "Infinity",
  "NaN",
  "+5",
  "1.5",
  "２",
  "٣",
  "2024",
  "2200",
];
const UNICODE = [
  "\u00a0",
  "\u2007",
  "\u200b",
  "\u2028",
  "\ufeff",
  "\ud800",
  "\udfff",
  "😀",
  "é",
  "ß",
  "İ",
  "Ⅻ",
  "０",
  "\u0000",
  "\n",
  "\r",
  "\v",
  "\\",
  '"',
  "'",
  "%",
  "$",
  "{",
  "}",
  "__proto__",
  "constructor",
  "toString",
];
const ZONES = ["UTC", "America/New_York", "Pacific/Chatham", "Australia/Lord_Howe", "Asia/Kolkata"];

function mutate(text: string): string {
  let s = text;
  const edits = 1 + int(4);
  for (let i = 0; i < edits; i++) {
    const at = int(s.length + 1);
    const ch = random() < 0.85 ? CRON_ALPHABET[int(CRON_ALPHABET.length)]! : pick(UNICODE);
    const op = int(3);
    if (op === 0) s = s.slice(0, at) + ch + s.slice(at);
    else if (op === 1) s = s.slice(0, at) + s.slice(at + 1);
    else s = s.slice(0, at) + ch + s.slice(at + 1);
  }
  return s;
}

function randomAlphabet(): string {
  const length = int(40);
  let s = "";
  for (let i = 0; i < length; i++) s += CRON_ALPHABET[int(CRON_ALPHABET.length)]!;
  return s;
}

function randomUnicode(): string {
  const length = int(24);
  let s = "";
  for (let i = 0; i < length; i++) {
    s += random() < 0.3 ? pick(UNICODE) : String.fromCharCode(int(0x10000));
  }
  return s;
}

function randomFields(): string {
  const count = int(10);
  const fields: string[] = [];
  for (let i = 0; i < count; i++)
    fields.push(random() < 0.7 ? pick(FIELD_POOL) : pick(VALID).split(" ")[0]!);
  return fields.join(random() < 0.9 ? " " : pick(["  ", "\t", " , ", "\u00a0"]));
}

function hugeNumbers(): string {
  const big = () =>
    pick([
      "9".repeat(1 + int(400)),
      "1" + "0".repeat(int(30)),
      String(2 ** 31),
      String(2 ** 53 + 1),
      "1e309",
      "-0",
    ]);
  const fields = ["*", "*", "*", "*", "*"];
  fields[int(5)] = pick([
    big(),
    `*/${big()}`,
    `1-${big()}`,
    `${big()}-1`,
    `${big()}#1`,
    `5#${big()}`,
    `L-${big()}`,
    `${big()}W`,
  ]);
  return fields.join(" ");
}

function longString(): string {
  const unit = pick(["* ", "1,", "1-2/3,", "L-1,", "5#1,", "@", " ", "*/", "\t*"]);
  return unit.repeat(500 + int(5_000));
}

/** One digit changed, or one character dropped: often still valid. */
function lightMutate(text: string): string {
  const at = int(text.length);
  return random() < 0.7
    ? text.slice(0, at) + String(int(10)) + text.slice(at + 1)
    : text.slice(0, at) + text.slice(at + 1);
}

/** Each field taken from a valid five-field expression's same field. */
function recombine(): string {
  const five = VALID.filter((v) => v.split(" ").length === 5);
  return [0, 1, 2, 3, 4].map((i) => pick(five).split(" ")[i]!).join(" ");
}

function nextInput(): string {
  const r = random();
  if (r < 0.3) return mutate(pick(VALID));
  if (r < 0.45) return lightMutate(pick(VALID));
  if (r < 0.55) return recombine();
  if (r < 0.67) return randomFields();
  if (r < 0.77) return randomAlphabet();
  if (r < 0.87) return randomUnicode();
  if (r < 0.97) return hugeNumbers();
  return longString();
}

const FIELDS = new Set([
  "second",
  "minute",
  "hour",
  "day-of-month",
  "month",
  "day-of-week",
  "year",
  "expression",
]);
const FROM = new Date("2024-03-10T06:59:59.500Z");

/** "parsed" or "rejected" when all is well, otherwise what is wrong with the outcome for `text`. */
function judge(text: string, zone: string): string {
  let cron;
  try {
    cron = parseCron(text, { timezone: zone });
  } catch (error) {
    if (!(error instanceof CronSyntaxError)) {
      return `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    }
    if (error.code !== "ERR_CRON_SYNTAX") return `code ${error.code}`;
    if (error.expression !== text) return "expression is not the input";
    if (!FIELDS.has(error.field)) return `field ${String(error.field)}`;
    if (!Number.isInteger(error.column) || error.column < 0 || error.column > text.length) {
      return `column ${error.column} outside 0-${text.length}`;
    }
    if (text.slice(error.column, error.column + error.token.length) !== error.token) {
      return `token ${JSON.stringify(error.token)} is not the text at column ${error.column}`;
    }
    if (!error.message.startsWith(`Invalid cron expression ${JSON.stringify(text)}: `)) {
      return `message ${JSON.stringify(error.message.slice(0, 200))}`;
    }
    if (!error.message.endsWith(` (column ${error.column})`))
      return "message does not end with the column";
    return "rejected";
  }
  try {
    const next = cron.next(FROM);
    if (next !== null && !(next instanceof Date && next.getTime() > FROM.getTime())) {
      return `next() gave ${String(next)}`;
    }
    const prev = cron.prev(FROM);
    if (prev !== null && !(prev instanceof Date && prev.getTime() < FROM.getTime())) {
      return `prev() gave ${String(prev)}`;
    }
  } catch (error) {
    return `parsed, then next/prev threw ${String(error)}`;
  }
  return "parsed";
}

void describe("fuzz: random and mutated strings", () => {
  void it(`${TOTAL} inputs each parse or throw CronSyntaxError (seed ${SEED})`, () => {
    const failures: string[] = [];
    let failed = 0;
    let parsed = 0;
    for (let i = 0; i < TOTAL; i++) {
      const text = nextInput();
      const zone = pick(ZONES);
      const outcome = judge(text, zone);
      if (outcome === "parsed") parsed++;
      else if (outcome !== "rejected" && ++failed <= 20) {
        const shown =
          text.length > 120
            ? `${JSON.stringify(text.slice(0, 120))}… (${text.length} chars)`
            : JSON.stringify(text);
        failures.push(`#${i} ${shown} in ${zone}: ${outcome}`);
      }
    }
    assert.deepEqual(failures, [], `${failed} of ${TOTAL} inputs failed; the first 20 are listed`);
    // Enough inputs parse that next() and prev() are exercised too.
    assert.ok(parsed > TOTAL / 20, `only ${parsed} of ${TOTAL} inputs parsed`);
  });

  void it("mutations of valid expressions often still parse (the fuzzer reaches next/prev)", () => {
    const local = rng(SEED + 1);
    let parsed = 0;
    for (let i = 0; i < 2_000; i++) {
      const base = VALID[Math.floor(local() * VALID.length)]!;
      const at = Math.floor(local() * (base.length + 1));
      const digit = String(Math.floor(local() * 10));
      try {
        parseCron(base.slice(0, at) + digit + base.slice(at + 1), { timezone: "UTC" });
        parsed++;
      } catch (error) {
        assert.ok(error instanceof CronSyntaxError, String(error));
      }
    }
    assert.ok(parsed > 200, `only ${parsed} of 2000 mutated inputs parsed`);
  });
});
