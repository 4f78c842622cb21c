import Database from "better-sqlite3";
import { clusterScenario } from "../harness.js";

/**
 * Another process holds the SQLite write lock (`BEGIN IMMEDIATE`, then
 * nothing) for 2 s, 5 s and 10 s. The suite process holds it itself: its
 * event loop stays free meanwhile (the lock is held across timers, not by
 * blocking).
 */
export default clusterScenario({
  name: "sqlite-lock",
  description: "SQLite file, 3 nodes: an external write lock held 2 s, 5 s, then 10 s",
  store: "sqlite",
  windowMs: 24_000,
  async inject(ctx) {
    if (ctx.store.kind !== "sqlite") throw new Error("sqlite-lock needs SQLite");
    const db = new Database(ctx.store.path, { timeout: 2_000 });
    try {
      for (const { at, ms } of [
        { at: 1_500, ms: 2_000 },
        { at: 5_000, ms: 5_000 },
        { at: 11_500, ms: 10_000 },
      ]) {
        await ctx.at(at);
        db.exec("BEGIN IMMEDIATE");
        ctx.note(`write lock taken for ${ms / 1000} s`);
        await ctx.at(at + ms);
        db.exec("COMMIT");
        ctx.note("write lock released");
      }
    } finally {
      if (db.inTransaction) db.exec("ROLLBACK");
      db.close();
    }
  },
});
