import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import type { Session } from "../../src/http/auth.js";
import { EventStream } from "../../src/http/event-stream.js";
import type { HttpServerOptions } from "../../src/http/server.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { SseReader, TOKEN, login, logout, startHarness, type Harness } from "./helpers.js";
import { principalFor } from "../../src/http/roles.js";

// Issue 13, item 8: event streams stayed open after logout, and one client
// could take all 100 stream slots.

/** Bound of each test: the stream reads wait for events that must come. */
const BOUND_MS = 60_000;
const BEARER = { Authorization: `Bearer ${TOKEN}` };

function openStream(h: Harness, headers: Record<string, string>): Promise<Response> {
  return fetch(h.at("/api/events"), { headers });
}

/** Reads a stream's first event; the stream is live from then on. */
async function hello(response: Response): Promise<SseReader> {
  assert.equal(response.status, 200);
  const reader = new SseReader(response);
  await reader.until((event) => event.event === "hello");
  return reader;
}

/** Runs `body` on a harness with a task "backup"; closes the streams it opened (in `readers`) and the harness. */
async function withStreams(
  options: Partial<HttpServerOptions>,
  body: (h: Harness, readers: SseReader[]) => Promise<void>,
): Promise<void> {
  const h = await startHarness(async (scheduler) => {
    await scheduler.registerTask("backup", "0 3 * * *", () => {});
  }, options);
  const readers: SseReader[] = [];
  try {
    await body(h, readers);
  } finally {
    await Promise.all(readers.map((reader) => reader.close().catch(() => {})));
    await h.close();
  }
}

/** Reads `reader` to its end; rejects with "the event stream ended" then, or with a timeout after 20 s. */
async function endOf(reader: SseReader): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("the stream is still open after 20 s")), 20_000);
  });
  try {
    await Promise.race([reader.until(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens a stream once the server has seen a closed one go (bounded). */
async function waitForRoom(h: Harness, headers: Record<string, string>): Promise<SseReader> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const response = await openStream(h, headers);
    if (response.status === 200) return hello(response);
    await response.body?.cancel();
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error("no stream slot came free");
}

describe("http event streams: limits", () => {
  it(
    "ends every stream of a session at its logout, and leaves other sessions' open",
    { timeout: BOUND_MS },
    () =>
      withStreams({}, async (h, readers) => {
        const session = await login(h);
        const other = await login(h);
        const mine = [
          await hello(await openStream(h, { Cookie: session.cookie })),
          await hello(await openStream(h, { Cookie: session.cookie })),
        ];
        const theirs = await hello(await openStream(h, { Cookie: other.cookie }));
        readers.push(...mine, theirs);
        assert.equal((await logout(h, session)).status, 303);
        for (const reader of mine) await assert.rejects(endOf(reader), /the event stream ended/);
        // The other session's stream is still live: it gets the next event.
        await h.bearer("/api/tasks/backup/pause", { method: "POST" });
        const seen = await theirs.until((event) => event.event === "task");
        assert.match(seen.at(-1)?.data ?? "", /"backup"/);
      }),
  );

  it(
    "caps the streams of one session at 5 and of one client address at 20 (429)",
    { timeout: BOUND_MS },
    () =>
      withStreams({}, async (h, readers) => {
        const session = await login(h);
        for (let i = 0; i < 5; i++)
          readers.push(await hello(await openStream(h, { Cookie: session.cookie })));
        const sixth = await openStream(h, { Cookie: session.cookie });
        assert.equal(sixth.status, 429);
        assert.equal(((await sixth.json()) as { error: string }).error, "too_many_streams");
        // Other sessions and bearer clients of the same address share its cap of 20.
        for (let i = 0; i < 3; i++) {
          const other = await login(h);
          for (let j = 0; j < 5; j++)
            readers.push(await hello(await openStream(h, { Cookie: other.cookie })));
        }
        const twentyFirst = await openStream(h, BEARER);
        assert.equal(twentyFirst.status, 429);
        await twentyFirst.body?.cancel();
        // Closing one makes room again.
        await readers.pop()?.close();
        readers.push(await waitForRoom(h, BEARER));
      }),
  );

  it(
    "keeps streams to half the connection cap in all (503 beyond), so that other requests still get in",
    { timeout: BOUND_MS },
    () =>
      withStreams(
        { connectionLimits: { maxConnections: 6, maxConnectionsPerClient: 10 } },
        async (h, readers) => {
          for (let i = 0; i < 3; i++) readers.push(await hello(await openStream(h, BEARER)));
          const fourth = await openStream(h, BEARER);
          assert.equal(fourth.status, 503);
          await fourth.body?.cancel();
          assert.equal((await h.bearer("/api/tasks")).status, 200);
        },
      ),
  );
});

describe("EventStream: sessions that end without a logout", () => {
  it(
    "closes the streams of a session that is no longer live at the next keep-alive",
    { timeout: BOUND_MS },
    async () => {
      const scheduler = new Scheduler(new Dispatcher(), { logger: silentLogger });
      const live = new Set<Session>();
      const events = new EventStream(scheduler, {
        keepAliveMs: 50,
        isSessionLive: (session) => live.has(session),
      });
      const principal = principalFor("admin", "a token");
      const expiring: Session = { id: "a", csrfToken: "a", expiresAtMs: 0, principal };
      const staying: Session = { id: "b", csrfToken: "b", expiresAtMs: 0, principal };
      live.add(expiring).add(staying);
      const sessions = [expiring, staying];
      const server = createServer((_request, response) => {
        events.add(response, { client: "127.0.0.1", session: sessions.shift() ?? null });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const first = await hello(await fetch(url));
      const second = await hello(await fetch(url));
      try {
        live.delete(expiring);
        await assert.rejects(endOf(first), /the event stream ended/);
        assert.equal(events.size, 1);
      } finally {
        await Promise.all([first, second].map((reader) => reader.close().catch(() => {})));
        events.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  );
});
