/**
 * The slot locks of the PostgreSQL store: transaction-scoped advisory locks
 * that order the settling of a missed range against claims of the
 * occurrences inside it.
 *
 * A claim and a settle of one occurrence meet on the claims' unique key. A
 * missed range is claimed only at its last occurrence, so a claim of an
 * occurrence inside it meets nothing: each statement checks the other's
 * rows in a snapshot taken before the other committed, both win, and the
 * occurrence has two rows (gap (j) of docs/faults.md). So a range is settled
 * under an exclusive lock, and every claim and single settle holds a shared
 * one. The lock is taken by a statement of its own before the claim or
 * settle, in the same transaction: a statement's snapshot is taken when it
 * starts, so only a statement that starts after the lock was granted sees
 * what the settle before it wrote.
 *
 * The lock is on a bucket of task names, not on a task: a batch of 5,000
 * claims holds at most {@link SLOT_LOCK_BUCKETS} locks, well inside
 * PostgreSQL's lock table, and waits only while a range of a task in one of
 * its buckets is being settled.
 */
import { createHash } from "node:crypto";
import pg from "pg";

const { escapeLiteral } = pg;

/** How many buckets task names are hashed into. */
export const SLOT_LOCK_BUCKETS = 32;

/**
 * The first advisory lock key of one schema's slot locks (`base + bucket`):
 * 46 bits of a digest of the schema, so that two schemas in one database do
 * not wait on each other; apart from the node locks' hashed keys by chance,
 * as those are from each other.
 */
export function slotLockBase(schema: string): bigint {
  const digest = createHash("sha256").update(`orchestrator.slots.${schema}`).digest();
  return BigInt.asUintN(46, digest.readBigUInt64BE(0)) * BigInt(SLOT_LOCK_BUCKETS);
}

/** The bucket of a task name (FNV-1a over its UTF-16 code units). */
export function slotBucket(taskName: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < taskName.length; i++) {
    hash ^= taskName.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % SLOT_LOCK_BUCKETS;
}

/**
 * The statement that takes the slot locks of `taskNames`, in key order (so
 * that no two transactions wait on each other in a cycle): exclusive for a
 * task whose `exclusive` is true (a range is settled), shared otherwise.
 */
export function lockSlotsText(
  base: bigint,
  taskNames: readonly string[],
  exclusive: (index: number) => boolean,
): string {
  const modes = new Map<number, boolean>();
  taskNames.forEach((taskName, index) => {
    const bucket = slotBucket(taskName);
    modes.set(bucket, (modes.get(bucket) ?? false) || exclusive(index));
  });
  const buckets = [...modes.keys()].sort((a, b) => a - b);
  const keys = buckets.map((bucket) => String(base + BigInt(bucket))).join(",");
  const exclusives = buckets.map((bucket) => String(modes.get(bucket) === true)).join(",");
  // unnest yields its rows in array order, and each row's lock is taken as the row is read.
  return `select count(case when x then pg_advisory_xact_lock(k)::text
    else pg_advisory_xact_lock_shared(k)::text end)
  from unnest('{${keys}}'::bigint[], '{${exclusives}}'::boolean[]) as u(k, x)`;
}

/** One parameter of a statement as an SQL literal: arrays as array literals, dates as ISO text. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) {
    const elements = value.map((element: unknown) =>
      element === null || element === undefined
        ? "NULL"
        : `"${scalarText(element).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`,
    );
    return escapeLiteral(`{${elements.join(",")}}`);
  }
  return escapeLiteral(scalarText(value));
}

function scalarText(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  throw new TypeError(
    `a statement parameter of type ${typeof value} cannot be written as a literal`,
  );
}

/** `text` with each `$n` replaced by `values[n - 1]` written as a literal (each cast by the text itself). */
export function inlineParameters(text: string, values: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => literal(values[Number(n) - 1]));
}

/**
 * The text that runs `text` with `values` in one transaction after
 * `lockText` (its slot locks, waiting for them), for a simple query
 * (`PostgresConnection.queryEach`; the statement's rows are the second's):
 * one round trip, and each statement has a snapshot of its own, so the
 * statement sees what a settle that held a lock before it wrote. (The
 * extended protocol, for parameters, would take a round trip per statement;
 * the parameters go inline instead, as literals.)
 */
export function underSlotLocks(lockText: string, text: string, values: readonly unknown[]): string {
  return `${lockText};\n${inlineParameters(text, values)}`;
}
