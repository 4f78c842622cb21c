import type { QueryResultRow } from "pg";
import { DuplicateTaskError } from "../../errors.js";
import type { StoreChange, StoredCallback, TaskProgress, TaskRecord } from "../store.js";
import type { Queries } from "./queries.js";
import { callbackParams, taskOf, taskParams, toDate, type TaskRow } from "./rows.js";

/** What {@link PostgresTasks} needs of its store. */
export interface TaskWritesContext {
  readonly run: <R extends QueryResultRow>(
    key: Exclude<keyof Queries, "schema">,
    values: unknown[],
  ) => Promise<R[]>;
  /** The channel and payload of a task change, notified in the same statement. */
  readonly change: (kind: StoreChange["kind"], taskName: string) => [string, string];
}

/**
 * The PostgreSQL store's task rows: every write notifies the schema's
 * channel in the same statement, so the other nodes see it once committed.
 */
export class PostgresTasks {
  readonly #context: TaskWritesContext;

  constructor(context: TaskWritesContext) {
    this.#context = context;
  }

  async put(record: TaskRecord, options: { readonly replace: boolean }): Promise<void> {
    const rows = await this.#context.run<{ n: number }>(
      options.replace ? "upsertTask" : "insertTask",
      [...this.#context.change("upsert", record.name), ...taskParams(record)],
    );
    if ((rows[0]?.n ?? 0) === 0) throw new DuplicateTaskError(record.name);
  }

  async get(name: string): Promise<TaskRecord | undefined> {
    const rows = await this.#context.run<TaskRow>("getTask", [name]);
    const row = rows[0];
    return row === undefined ? undefined : taskOf(row);
  }

  async list(): Promise<TaskRecord[]> {
    return (await this.#context.run<TaskRow>("listTasks", [])).map(taskOf);
  }

  async updateProgress(
    name: string,
    progress: TaskProgress,
    options?: { readonly afterRun?: boolean },
  ): Promise<boolean> {
    const rows = await this.#context.run<{ n: number }>("updateTaskProgress", [
      ...this.#context.change("upsert", name),
      name,
      progress.state,
      toDate(progress.nextRunAt),
      toDate(progress.lastRunAt),
      progress.lastStatus,
      progress.runCount,
      options?.afterRun === true,
    ]);
    return (rows[0]?.n ?? 0) > 0;
  }

  async updateCallback(name: string, callback: StoredCallback): Promise<boolean> {
    const rows = await this.#context.run<{ n: number }>("updateTaskCallback", [
      ...this.#context.change("upsert", name),
      name,
      ...callbackParams(callback),
    ]);
    return (rows[0]?.n ?? 0) > 0;
  }

  async delete(name: string): Promise<boolean> {
    const rows = await this.#context.run<{ n: number }>("deleteTask", [
      ...this.#context.change("delete", name),
      name,
    ]);
    return (rows[0]?.n ?? 0) > 0;
  }

  async notify(change: StoreChange): Promise<void> {
    await this.#context.run("notify", this.#context.change(change.kind, change.taskName));
  }
}
