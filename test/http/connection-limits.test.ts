import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connectionLimitsFor } from "../../src/http/connection-limiter.js";
import { FALLBACK_DESCRIPTOR_LIMIT, readDescriptorLimit } from "../../src/http/descriptor-limit.js";
import { RAW_WAIT_MS, RawConnection, SseReader, startHarness } from "./helpers.js";

// Issue 13, item 5: thousands of connections sending partial headers took the
// daemon to its descriptor limit. Here, in process, with small limits.

/** Opens `count` connections that send half a request and wait. */
async function junk(url: string, count: number): Promise<RawConnection[]> {
  const opened = await Promise.allSettled(
    Array.from({ length: count }, () => RawConnection.open(url)),
  );
  const connections = opened.flatMap((result) =>
    result.status === "fulfilled" ? [result.value] : [],
  );
  for (const connection of connections) connection.write("GET /api/tasks HTTP/1.1\r\nHost: x\r\n");
  return connections;
}

/** Resolves once at most `max` of `connections` are still open (bounded). */
async function settleTo(connections: readonly RawConnection[], max: number): Promise<number> {
  const open = (): number => connections.filter((c) => !c.socket.destroyed).length;
  const deadline = AbortSignal.timeout(RAW_WAIT_MS);
  while (open() > max && !deadline.aborted) {
    await Promise.race([
      ...connections.filter((c) => !c.socket.destroyed).map((c) => c.closed),
      new Promise((resolve) => deadline.addEventListener("abort", resolve, { once: true })),
    ]);
  }
  return open();
}

/** Bound of each test: the stream reads wait for events that must come. */
const BOUND_MS = 60_000;

describe("http connection limits", () => {
  it(
    "keeps at most the per-client cap of half-open connections, and /healthz still answers",
    { timeout: BOUND_MS },
    async () => {
      const h = await startHarness(async () => {}, {
        connectionLimits: { maxConnections: 16, maxConnectionsPerClient: 8 },
      });
      const connections: RawConnection[] = [];
      try {
        connections.push(...(await junk(h.server.url, 200)));
        const health = await fetch(h.at("/healthz"));
        assert.equal(health.status, 200);
        // Eight kept, then the probe took the place of the oldest.
        assert.equal(await settleTo(connections, 7), 7);
        assert.equal((await h.bearer("/api/tasks")).status, 200);
      } finally {
        for (const connection of connections) connection.close();
        await h.close();
      }
    },
  );

  it(
    "never displaces an authenticated connection: an event stream outlives a flood",
    { timeout: BOUND_MS },
    async () => {
      const h = await startHarness(
        async (scheduler) => {
          await scheduler.registerTask("backup", "0 3 * * *", () => {});
        },
        { connectionLimits: { maxConnections: 16, maxConnectionsPerClient: 8 } },
      );
      const connections: RawConnection[] = [];
      const stream = new SseReader(await h.bearer("/api/events"));
      try {
        await stream.until((event) => event.event === "hello");
        connections.push(...(await junk(h.server.url, 100)));
        assert.equal((await h.bearer("/api/tasks/backup/pause", { method: "POST" })).status, 200);
        const seen = await stream.until((event) => event.event === "task");
        assert.match(seen.at(-1)?.data ?? "", /"backup"/);
      } finally {
        await stream.close();
        for (const connection of connections) connection.close();
        await h.close();
      }
    },
  );
});

describe("connection limits from the descriptor limit", () => {
  it("reads the soft limit of /proc/self/limits, with a fallback", () => {
    const limits = [
      "Limit                     Soft Limit           Hard Limit           Units     ",
      "Max open files            256                  4096                 files     ",
    ].join("\n");
    assert.equal(
      readDescriptorLimit(() => limits),
      256,
    );
    assert.equal(
      readDescriptorLimit(() => limits.replace("256 ", "unlimited ")),
      FALLBACK_DESCRIPTOR_LIMIT,
    );
    assert.equal(
      readDescriptorLimit(() => {
        throw new Error("no /proc");
      }),
      FALLBACK_DESCRIPTOR_LIMIT,
    );
  });

  it("keeps three quarters of the descriptors in reserve", () => {
    assert.deepEqual(connectionLimitsFor(256), { maxConnections: 64, maxConnectionsPerClient: 16 });
    assert.deepEqual(connectionLimitsFor(1024), {
      maxConnections: 256,
      maxConnectionsPerClient: 64,
    });
    assert.deepEqual(connectionLimitsFor(1_048_576), {
      maxConnections: 1024,
      maxConnectionsPerClient: 64,
    });
    assert.deepEqual(connectionLimitsFor(8), { maxConnections: 4, maxConnectionsPerClient: 2 });
  });
});
