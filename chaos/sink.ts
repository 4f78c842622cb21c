/**
 * The handlers' own side-effect log (not the scheduler's history), kept by the
 * suite process and written by the nodes over IPC: what a callback started
 * (`begin`) and the last side effect it completed (`done`). Like a resource
 * that honours fencing tokens, it refuses a write whose token
 * (`ctx.fencingToken`, which grows with every claim the store grants) is
 * older than one it has already seen for the same resource (a task, or one
 * slot of it). A zombie's late write (a node that lost its lease and whose
 * run was retried under a newer claim) is refused this way.
 */
import type { BeginMessage, DoneMessage, EndMessage } from "./protocol.js";

/** One callback, as the sink saw it: its `begin` (`at`: real epoch ms at its entry), and what followed. */
export interface SinkCall extends Omit<BeginMessage, "type"> {
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
  /** Writes refused because an older token came after a newer one. */
  refused = 0;

  begin(message: BeginMessage): void {
    const accepted = this.#fence(message.resource, message.token);
    const { type: _type, ...begin } = message;
    this.calls.set(message.id, {
      ...begin,
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
