import type { SchedulerEvents } from "../events.js";
import { safeLog, type Logger } from "../logger.js";
import type { Store } from "../store/store.js";
import type { RendezvousShare } from "./work-share.js";

/** What a {@link Membership} needs from its Scheduler. */
export interface MembershipHost {
  readonly store: Store;
  /** False when the work is not shared (then no heartbeats either). */
  readonly enabled: boolean;
  readonly nodeId: string;
  /** This node is live for the others while its last heartbeat is younger than this. */
  readonly leaseMs: number;
  readonly logger: Logger;
  /** The share computed over the live nodes this membership hears of. */
  readonly share: RendezvousShare;
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
  /** Nodes left the live set (the share has been computed afresh). */
  readonly nodesLeft?: () => void;
}

/** The longest time between two heartbeats, in ms: the others notice a join or a leave this fast. */
export const MAX_BEAT_MS = 2_000;
/** The shortest time between two heartbeats, in ms (a suspected death asks for one at once). */
export const MIN_BEAT_MS = 100;

/**
 * This node's entry in the store's membership (`Store.heartbeatNode`, the
 * `nodes` table): registered when the scheduler starts, a heartbeat (by the
 * store's clock) every quarter lease, at most every 2 s, removed when it
 * stops. Each beat answers with the live nodes, which the share is computed
 * over (`nodes:changed` when they change); for its first beat period this
 * node leaves itself out (the others may not count it yet: it only takes
 * over, so a join costs no conflicting claims). A takeover that found runs nobody
 * claimed asks for a beat at once: their owner may be dead. A failed beat
 * keeps the last view (the store's outage is reported by the store health);
 * stores without membership leave this node owning everything.
 */
export class Membership {
  readonly #host: MembershipHost;
  readonly #periodMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #first = true;
  /** When the first beat of this start succeeded (monotonic ms). */
  #joinedMono = Number.NaN;
  #beating: Promise<void> | undefined;
  #lastBeatMono = Number.NEGATIVE_INFINITY;
  #failing = false;

  constructor(host: MembershipHost) {
    this.#host = host;
    this.#periodMs = Math.max(MIN_BEAT_MS, Math.min(MAX_BEAT_MS, host.leaseMs / 4));
  }

  /** True when this node shares the work (a shared store with `heartbeatNode`, sharing on). */
  get enabled(): boolean {
    const { store } = this.#host;
    return this.#host.enabled && store.shared && store.heartbeatNode !== undefined;
  }

  /** Registers this node (first beat, awaited) and starts the heartbeats. Never rejects. */
  async join(): Promise<void> {
    if (!this.enabled || this.#running) return;
    this.#running = true;
    this.#first = true;
    await this.#beat();
    this.#arm(this.#periodMs);
  }

  /** Stops the heartbeats and removes this node from the membership. Never rejects. */
  async leave(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#beating;
    try {
      await this.#host.store.leaveNode?.(this.#host.nodeId);
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "membership" });
    }
    this.#host.share.setLive([]);
  }

  /** Beats as soon as allowed (a takeover found runs nobody claimed). */
  beatSoon(): void {
    if (!this.#running) return;
    const sinceMs = performance.now() - this.#lastBeatMono;
    this.#arm(Math.max(0, MIN_BEAT_MS - sinceMs));
  }

  #arm(delayMs: number): void {
    if (!this.#running) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#beat().finally(() => this.#arm(this.#periodMs));
    }, delayMs);
    this.#timer.unref();
  }

  #beat(): Promise<void> {
    this.#beating ??= this.#beatOnce().finally(() => {
      this.#beating = undefined;
    });
    return this.#beating;
  }

  async #beatOnce(): Promise<void> {
    const host = this.#host;
    this.#lastBeatMono = performance.now();
    let live: string[];
    try {
      const first = this.#first;
      live =
        (await host.store.heartbeatNode?.({ nodeId: host.nodeId, leaseMs: host.leaseMs, first })) ??
        [];
      if (first) this.#joinedMono = performance.now();
      this.#first = false;
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) host.emit("scheduler:error", { error, context: "membership" });
      this.#failing = true;
      return;
    }
    if (!this.#running) return;
    const before = host.share.live;
    // Until every other node has beaten once since this one joined, they may not count it:
    // it owns nothing yet and only takes over runs nobody claimed (no conflicting claims).
    const settled = performance.now() - this.#joinedMono >= this.#periodMs;
    if (!host.share.setLive(live, settled)) return;
    const now = host.share.live;
    const joined = now.filter((id) => !before.includes(id));
    const left = before.filter((id) => !now.includes(id));
    safeLog(
      host.logger,
      "info",
      { live: now, joined, left },
      `Sharing the work among ${now.length} live node${now.length === 1 ? "" : "s"}`,
    );
    host.emit("nodes:changed", { live: now, joined, left });
    if (left.length > 0) host.nodesLeft?.();
  }
}
