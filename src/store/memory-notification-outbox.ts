import type {
  NotificationChannel,
  NotificationOutbox,
  OutboxClaim,
  OutboxEntry,
  OutboxMessage,
  OutboxOutcome,
  OutboxQuery,
  OutboxWindow,
} from "./notification-outbox.js";

type MemoryRow = { -readonly [K in keyof OutboxEntry]: OutboxEntry[K] } & {
  leaseUntil: number | null;
};

/** The {@link NotificationOutbox} of the MemoryStore: an array, lost on exit. */
export class MemoryNotificationOutbox implements NotificationOutbox {
  /** By id: a pruned row leaves its slot empty. */
  readonly #rows: (MemoryRow | undefined)[] = [];
  readonly #keys = new Set<string>();

  enqueue(messages: readonly OutboxMessage[]): Promise<number> {
    let added = 0;
    for (const message of messages) {
      const key = JSON.stringify([
        message.taskName,
        message.kind,
        message.changeId,
        message.channel,
      ]);
      if (this.#keys.has(key)) continue;
      this.#keys.add(key);
      added++;
      this.#rows.push({
        ...message,
        id: this.#rows.length + 1,
        status: "pending",
        attempts: 0,
        nextAttemptAt: message.createdAt,
        claimedBy: null,
        finishedAt: null,
        lastError: null,
        leaseUntil: null,
      });
    }
    return Promise.resolve(added);
  }

  claim(request: OutboxClaim): Promise<OutboxEntry[]> {
    const names = new Set(request.taskNames);
    const claimed: OutboxEntry[] = [];
    for (const row of this.#live()) {
      if (claimed.length >= request.limit) break;
      const due =
        (row.status === "pending" && row.nextAttemptAt <= request.nowMs) ||
        (row.status === "sending" && (row.leaseUntil ?? 0) < request.nowMs);
      if (!due || !names.has(row.taskName)) continue;
      Object.assign(row, {
        status: "sending",
        claimedBy: request.nodeId,
        leaseUntil: request.nowMs + request.leaseMs,
        attempts: row.attempts + 1,
      });
      claimed.push(entryOf(row));
    }
    return Promise.resolve(claimed);
  }

  finish(id: number, nodeId: string, outcome: OutboxOutcome): Promise<boolean> {
    const row = this.#rows[id - 1];
    if (row?.claimedBy !== nodeId || row.status !== "sending") return Promise.resolve(false);
    row.status = outcome.status;
    row.leaseUntil = null;
    if (outcome.error !== undefined) row.lastError = outcome.error;
    if (outcome.status === "pending") row.nextAttemptAt = outcome.nextAttemptAt;
    else row.finishedAt = outcome.atMs;
    return Promise.resolve(true);
  }

  window(taskName: string, channel: NotificationChannel, sinceMs: number): Promise<OutboxWindow> {
    const rows = this.#live().filter((r) => r.taskName === taskName && r.channel === channel);
    const sent = rows.filter((r) => r.status === "sent");
    const lastSent = Math.max(0, ...sent.map((r) => r.finishedAt ?? 0));
    return Promise.resolve({
      sent: sent.filter((r) => (r.finishedAt ?? 0) > sinceMs).length,
      held: rows.filter((r) => r.status === "suppressed" && (r.finishedAt ?? 0) >= lastSent).length,
    });
  }

  prune(finishedBeforeMs: number, suppressedBeforeMs: number): Promise<number> {
    let deleted = 0;
    this.#rows.forEach((row, index) => {
      if (row === undefined || !isPrunable(row, finishedBeforeMs, suppressedBeforeMs)) return;
      this.#rows[index] = undefined;
      deleted++;
    });
    return Promise.resolve(deleted);
  }

  #live(): MemoryRow[] {
    return this.#rows.filter((row): row is MemoryRow => row !== undefined);
  }

  list(query: OutboxQuery = {}): Promise<OutboxEntry[]> {
    const limit = Math.max(0, Math.floor(query.limit ?? 50));
    return Promise.resolve(
      this.#live()
        .filter((r) => query.taskName === undefined || r.taskName === query.taskName)
        .reverse()
        .slice(0, limit)
        .map(entryOf),
    );
  }
}

function isPrunable(row: MemoryRow, finishedBeforeMs: number, suppressedBeforeMs: number): boolean {
  if (row.finishedAt === null) return false;
  if (row.status === "suppressed") return row.finishedAt < suppressedBeforeMs;
  return (row.status === "sent" || row.status === "failed") && row.finishedAt < finishedBeforeMs;
}

function entryOf(row: MemoryRow): OutboxEntry {
  const { leaseUntil: _lease, ...entry } = row;
  return { ...entry };
}
