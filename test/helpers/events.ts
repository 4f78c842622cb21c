import { once, type EventEmitter } from "node:events";

/**
 * Resolves with the first event `name` whose payload satisfies `accept`
 * (waits for events, never sleeps). Rejects after `timeoutMs` of silence so a
 * broken test fails instead of hanging; that is a safety net, not a timing check.
 */
export async function nextEvent<T>(
  emitter: EventEmitter,
  name: string,
  accept: (payload: T) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<T> {
  const signal = AbortSignal.timeout(timeoutMs);
  for (;;) {
    const [payload] = (await once(emitter, name, { signal })) as [T];
    if (accept(payload)) return payload;
  }
}

/** A promise with its resolve function exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
