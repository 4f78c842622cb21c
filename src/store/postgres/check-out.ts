import type { Pool, PoolClient } from "pg";

/** Clients that already listen for their connection's end (see checkOut). */
const guarded = new WeakSet<PoolClient>();

/** The next query on a client whose connection ended fails and says why; the event itself needs no more. */
function connectionEnded(): void {}

/**
 * Checks a client out of the pool for a multi-statement piece of work. A
 * connection terminated between two statements (`pg_terminate_backend`, a
 * server restart) emits `error` on its client, and pg's pool listens only
 * while the client is idle in it: without a listener of ours the event ends
 * the process. With one, the next statement fails instead, and the caller's
 * usual path (`release(error)`, a StoreError) takes over.
 */
export async function checkOut(pool: Pool): Promise<PoolClient> {
  const client = await pool.connect();
  if (!guarded.has(client)) {
    guarded.add(client);
    client.on("error", connectionEnded);
  }
  return client;
}
