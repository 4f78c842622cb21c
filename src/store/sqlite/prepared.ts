import type Database from "better-sqlite3";

/**
 * A module's SQL statements prepared once per connection (a reopened store
 * has a new one): `queries` is a module of named SQL texts.
 */
export class PreparedStatements<Q extends Record<string, string>> {
  readonly #queries: Q;
  readonly #prepared = new WeakMap<Database.Database, Record<keyof Q, Database.Statement>>();

  constructor(queries: Q) {
    this.#queries = queries;
  }

  /** The statements of `db`, prepared on first use. */
  of(db: Database.Database): Record<keyof Q, Database.Statement> {
    let statements = this.#prepared.get(db);
    if (statements === undefined) {
      statements = Object.fromEntries(
        Object.entries(this.#queries).map(([key, text]) => [key, db.prepare(text)]),
      ) as Record<keyof Q, Database.Statement>;
      this.#prepared.set(db, statements);
    }
    return statements;
  }
}
