/**
 * The handlers' own side-effect log (not the scheduler's history), kept by the
 * suite process and written by the nodes over IPC: what a callback started
 * (`begin`) and the last side effect it completed (`done`). Like a resource
 * that honours fencing tokens, it refuses a write whose token is older than
 * one it has already seen for the same resource (a task, or one slot of it).
 *
 * Tokens: `ctx.fencingToken` when the scheduler gives one (a number that
 * grows with every claim of a task). Until it does, the sink derives one: a
 * counter per resource, taken when the callback's `begin` arrives. That
 * fallback orders attempts by their start, not by their claim: a node frozen
 * between its claim and its first write gets a newer token than it should.
 * {@link Sink.tokenSources} tells which was used.
 */
import type { BeginMessage, DoneMessage, EndMessage } from "./protocol.js";

/** One callback, as the sink saw it: its `begin` (`at`: real epoch ms at its entry), and what followed. */
export interface SinkCall extends Omit<BeginMessage, "type" | "token"> {
  /** The token of its writes: `ctx.fencingToken`, or the one the sink derived. */
  readonly token: number;
  readonly tokenSource: "ctx" | "derived";
  /** False when the begin itself was refused (a newer token had been seen). */
  readonly beginAccepted: boolean;
  /** The last side effect: accepted, refused, or never written. */
  done: "accepted" | "refused" | undefined;
  /** Real epoch ms when the callback ended (done, failed, aborted), if it did. */
  endedAt: number | undefined;
  outcome: "done" | EndMessage["outcome"] | undefined;
}

/** The side-effect log of one scenario. */
export class Sink {
  readonly calls = new Map<string, SinkCall>();
  readonly #highest = new Map<string, number>();
  readonly #counters = new Map<string, number>();
  readonly tokenSources = new Set<"ctx" | "derived">();
  /** Writes refused because an older token came after a newer one. */
  refused = 0;

  begin(message: BeginMessage): void {
    const source = message.token === undefined ? "derived" : "ctx";
    this.tokenSources.add(source);
    const token = message.token ?? (this.#counters.get(message.resource) ?? 0) + 1;
    if (message.token === undefined) this.#counters.set(message.resource, token);
    const accepted = this.#fence(message.resource, token);
    const { type: _type, token: _given, ...begin } = message;
    this.calls.set(message.id, {
      ...begin,
      token,
      tokenSource: source,
      beginAccepted: accepted,
      done: undefined,
      endedAt: undefined,
      outcome: undefined,
    });
  }

  /** The last side effect of a callback; returns whether it was accepted. */
  done(message: DoneMessage): boolean {
    const call = this.calls.get(message.id);
    if (call === undefined) return false;
    const accepted = call.beginAccepted && this.#fence(call.resource, call.token);
    call.done = accepted ? "accepted" : "refused";
    call.endedAt = message.at;
    call.outcome = accepted ? "done" : "refused";
    return accepted;
  }

  end(message: EndMessage): void {
    const call = this.calls.get(message.id);
    if (call === undefined) return;
    call.endedAt = message.at;
    call.outcome = message.outcome;
  }

  /** Accepts `token` for `resource` unless a newer one was seen; remembers the newest. */
  #fence(resource: string, token: number): boolean {
    const highest = this.#highest.get(resource) ?? Number.NEGATIVE_INFINITY;
    if (token < highest) {
      this.refused++;
      return false;
    }
    this.#highest.set(resource, token);
    return true;
  }
}
