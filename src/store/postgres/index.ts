/**
 * `orchestrator/store/postgres`: the PostgreSQL store, for clusters of
 * schedulers on one database. Needs the `pg` package (an optional peer
 * dependency of orchestrator).
 */
export { PostgresStore } from "./postgres-store.js";
export {
  POSTGRES_STORE_DEFAULTS,
  type ClockSkew,
  type PostgresClaimRequest,
  type PostgresStoreOptions,
} from "./postgres-options.js";
export { LATEST_VERSION as POSTGRES_SCHEMA_VERSION } from "./migrations.js";
