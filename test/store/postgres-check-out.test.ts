/**
 * A pooled client checked out for several statements whose connection is
 * terminated between two of them (`pg_terminate_backend`, as the chaos
 * scenario pg-terminate does): the process lives on, and the next statement
 * fails. Without a listener, pg's unhandled `error` event ended the node.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import pg from "pg";
import { checkOut } from "../../src/store/postgres/check-out.js";
import { PG_URL, requirePg, waitFor } from "../helpers/pg.js";

if (await requirePg("checkOut")) {
  describe("checkOut", () => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
    pool.on("error", () => undefined);
    after(() => pool.end());

    it("survives its connection's termination between two statements; the next one fails", async () => {
      const client = await checkOut(pool);
      const pid = (await client.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!
        .pid;
      const killer = new pg.Client({ connectionString: PG_URL });
      await killer.connect();
      try {
        await killer.query("select pg_terminate_backend($1)", [pid]);
      } finally {
        await killer.end();
      }
      // The terminated session's message reaches the idle client as an `error` event, after which
      // pg marks it not queryable (no listener of the test's own: checkOut's is the one tried).
      const state = client as unknown as { readonly _queryable: boolean };
      await waitFor("the client to hear of its connection's end", () => !state._queryable);
      await assert.rejects(client.query("select 1"));
      client.release(true);
      // The pool hands out a working client after it.
      const next = await checkOut(pool);
      assert.equal((await next.query<{ one: number }>("select 1 as one")).rows[0]!.one, 1);
      next.release();
    });
  });
}
