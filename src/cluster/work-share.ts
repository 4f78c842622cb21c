import type { WorkShare } from "../leasing/work-share.js";

/**
 * 32-bit FNV-1a of a string's UTF-16 code units: fast, no allocation, and
 * good enough once mixed by {@link mix32}. Not a cryptographic hash: nothing
 * depends on node ids or task names being hard to collide.
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** MurmurHash3's 32-bit finalizer: every input bit reaches every output bit. */
function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Rendezvous (highest-random-weight) hashing: the owner of `taskName` among
 * `nodes` is the node with the highest weight, the weight being a hash of the
 * pair (ties, vanishingly rare, go to the smaller id). When a node leaves,
 * only its tasks move (each to the next-highest node); when one joins, it
 * takes about 1/n of every other node's tasks. Every node computes the same
 * answer from the same membership, with no coordination.
 */
export function rendezvousOwner(
  taskName: string,
  nodes: readonly { readonly id: string; readonly seed: number }[],
): string | undefined {
  return rendezvousTop(taskName, nodes)[0];
}

/**
 * The first three nodes of `taskName`'s rendezvous order among `nodes` (owner,
 * backup, third), by {@link rendezvousOwner}'s rule; undefined past the end.
 */
export function rendezvousTop(
  taskName: string,
  nodes: readonly { readonly id: string; readonly seed: number }[],
): [string | undefined, string | undefined, string | undefined] {
  const taskHash = fnv1a32(taskName);
  const top: [string | undefined, string | undefined, string | undefined] = [
    undefined,
    undefined,
    undefined,
  ];
  const weights = [-1, -1, -1];
  for (const node of nodes) {
    const weight = mix32(Math.imul(taskHash ^ node.seed, 0x9e3779b1) ^ node.seed);
    // Insert into the top three, highest weight first (ties to the smaller id).
    for (let rank = 0; rank < 3; rank++) {
      const held = top[rank];
      const heldWeight = weights[rank] as number;
      if (weight > heldWeight || (weight === heldWeight && held !== undefined && node.id < held)) {
        for (let down = 2; down > rank; down--) {
          top[down] = top[down - 1];
          weights[down] = weights[down - 1] as number;
        }
        top[rank] = node.id;
        weights[rank] = weight;
        break;
      }
    }
  }
  return top;
}

/**
 * This node's share of the tasks by rendezvous hashing over the live nodes
 * (see `Membership`): ownership is computed once per task per membership
 * change, then read from a map. With no membership known (the store keeps
 * none, or nothing was heard yet), this node owns everything.
 */
export class RendezvousShare implements WorkShare {
  readonly #nodeId: string;
  readonly takeoverDelayMs: number;
  readonly #onSuspect: (() => void) | undefined;
  #nodes: { readonly id: string; readonly seed: number }[] = [];
  /** The live node ids, sorted, as last set. */
  #live: readonly string[] = [];
  /** The live nodes before the last change, and those of them that left then. */
  #previous: { readonly id: string; readonly seed: number }[] = [];
  #departed: ReadonlySet<string> = new Set();
  /** Per task: 0 this node owns it, 1 it is its backup, 2 its third, 3 none of them. */
  readonly #roles = new Map<string, number>();

  constructor(options: { nodeId: string; takeoverDelayMs: number; onSuspect?: () => void }) {
    this.#nodeId = options.nodeId;
    this.takeoverDelayMs = options.takeoverDelayMs;
    this.#onSuspect = options.onSuspect;
  }

  /** The live node ids this share is computed over (this node included), sorted. */
  get live(): readonly string[] {
    return this.#live;
  }

  /**
   * Sets the live nodes: this node is one of them unless `includeSelf` is
   * false (it just joined: the others may not count it yet, so it owns
   * nothing and only takes over). Returns true when the set changed:
   * ownership is then computed afresh.
   */
  setLive(nodeIds: readonly string[], includeSelf = true): boolean {
    const others = nodeIds.filter((id) => id !== this.#nodeId);
    const live = [...new Set(includeSelf ? [...others, this.#nodeId] : others)].sort();
    if (live.length === this.#live.length && live.every((id, i) => id === this.#live[i]))
      return false;
    this.#previous = this.#nodes;
    this.#departed = new Set(this.#live.filter((id) => !live.includes(id)));
    this.#live = live;
    this.#nodes = live.map((id) => ({ id, seed: mix32(fnv1a32(id)) }));
    this.#roles.clear();
    return true;
  }

  owns(taskName: string): boolean {
    return this.#role(taskName) === 0;
  }

  backs(taskName: string): boolean {
    return this.#role(taskName) === 1;
  }

  /** True when this node is the task's owner, backup or third among the live nodes. */
  takesOver(taskName: string): boolean {
    return this.#role(taskName) < 3;
  }

  /**
   * True when every one of the task's first three nodes by the live set
   * before the last change left at that change: no node read or took over
   * its runs meanwhile (the others leave them to those three, see
   * {@link takesOver}), so they may have no row.
   */
  lostItsThree(taskName: string): boolean {
    if (this.#departed.size === 0) return false;
    const top = rendezvousTop(taskName, this.#previous);
    return top[0] !== undefined && top.every((id) => id === undefined || this.#departed.has(id));
  }

  #role(taskName: string): number {
    // Alone, or before any membership was heard: everything is this node's.
    if (this.#nodes.length === 0 || (this.#nodes.length === 1 && this.#live[0] === this.#nodeId))
      return 0;
    let role = this.#roles.get(taskName);
    if (role === undefined) {
      role = rendezvousTop(taskName, this.#nodes).indexOf(this.#nodeId);
      if (role < 0) role = 3;
      this.#roles.set(taskName, role);
    }
    return role;
  }

  /** The owner of `taskName` by the current membership. */
  ownerOf(taskName: string): string {
    return rendezvousOwner(taskName, this.#nodes) ?? this.#nodeId;
  }

  suspect(): void {
    this.#onSuspect?.();
  }
}
