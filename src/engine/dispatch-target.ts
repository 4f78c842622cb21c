import type { DispatchTarget } from "../core/dispatcher.js";
import type { CallbackInput, TaskCallback } from "../core/task.js";
import { HandlerMissingError } from "../errors.js";

/**
 * What the dispatcher runs for a callback that is not a function: a named
 * handler (`host.handler` looks it up; a missing one rejects with
 * HandlerMissingError), or a module's export in a worker thread.
 */
export function dispatchTarget(
  host: { handler(name: string): TaskCallback | undefined },
  callback: Exclude<CallbackInput, TaskCallback>,
): DispatchTarget {
  if (typeof callback === "string") {
    const fn = host.handler(callback);
    if (fn === undefined) {
      const error = new HandlerMissingError(callback);
      return { kind: "inline", fn: () => Promise.reject(error) };
    }
    return { kind: "inline", fn };
  }
  return { kind: "module", module: callback.module, exportName: callback.export ?? "default" };
}
