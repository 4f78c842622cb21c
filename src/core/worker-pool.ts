import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Piscina } from "piscina";
import { InvalidArgumentError } from "../errors.js";
import type { WorkerJob } from "./worker-entry.js";

/** Options of {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /**
   * Most worker threads.
   * @defaultValue piscina's default (1.5 × CPU count)
   */
  maxThreads?: number;
  /**
   * Threads kept alive when idle.
   * @defaultValue 0
   */
  minThreads?: number;
  /**
   * An idle thread above `minThreads` exits after this long.
   * @defaultValue 30000
   */
  idleTimeoutMs?: number;
  /**
   * The module the threads load. Defaults to the built `worker-entry.js` next
   * to this file; when running from TypeScript sources, pass a bootstrap that
   * registers a loader first (see test/fixtures/ts-worker-boot.mjs).
   */
  workerEntry?: string | URL;
  /**
   * The `process.env` the threads see (a copy). The CLI passes its own
   * environment without the daemon's secrets, so that a module task cannot
   * read the encryption key or the dashboard token from it.
   * @defaultValue a copy of `process.env`
   */
  env?: Readonly<Record<string, string>>;
}

/**
 * Finds the built worker entry next to this module, or next to a bundle or
 * chunk that inlined it (`./core/`), whatever extension the build gave it.
 */
function defaultWorkerEntry(): string {
  const candidates: URL[] = [];
  for (const dir of ["./", "./core/"]) {
    for (const extension of [".mjs", ".js", ".cjs"]) {
      candidates.push(new URL(`${dir}worker-entry${extension}`, import.meta.url));
    }
  }
  for (const candidate of candidates) {
    if (candidate.protocol === "file:" && existsSync(fileURLToPath(candidate)))
      return candidate.href;
  }
  throw new InvalidArgumentError(
    "workerEntry",
    "the worker entry module (pass `workerEntry` when running from TypeScript sources)",
    (candidates[0] as URL).href,
  );
}

/** Turns a user's module reference into an importable URL (relative paths are taken from the working directory). */
export function toModuleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) return module;
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href;
}

/**
 * A lazily created piscina pool that runs {@link WorkerJob}s. Nothing starts
 * until the first job, so a Dispatcher that only runs inline callbacks never
 * spawns a thread.
 */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  #pool: Piscina<WorkerJob, void> | undefined;

  constructor(options: WorkerPoolOptions = {}) {
    this.#options = { ...options };
  }

  /** True once a thread pool exists. */
  get started(): boolean {
    return this.#pool !== undefined;
  }

  /** Runs a job; aborting `signal` terminates the thread running it and rejects. */
  run(job: WorkerJob, signal: AbortSignal): Promise<unknown> {
    this.#pool ??= this.#create();
    return this.#pool.run(job, { signal });
  }

  /** Stops every thread; pending jobs reject. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool !== undefined) await pool.destroy();
  }

  #create(): Piscina<WorkerJob, void> {
    const entry = this.#options.workerEntry;
    const filename =
      entry === undefined
        ? defaultWorkerEntry()
        : entry instanceof URL
          ? entry.href
          : toModuleUrl(entry);
    return new Piscina<WorkerJob, void>({
      filename,
      minThreads: this.#options.minThreads ?? 0,
      ...(this.#options.maxThreads === undefined ? {} : { maxThreads: this.#options.maxThreads }),
      idleTimeout: this.#options.idleTimeoutMs ?? 30_000,
      // An idle thread keeps its event loop turning (piscina's "sync" blocks it): what a
      // handler left behind (a timer, a floating rejection) happens then, not inside the next job.
      atomics: "async",
      ...(this.#options.env === undefined ? {} : { env: { ...this.#options.env } }),
    });
  }
}
