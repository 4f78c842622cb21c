import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FailureLimiter } from "../../src/http/failure-limiter.js";
import { ManualClock } from "../../src/time/clock.js";
import { RawConnection, TOKEN, login, startHarness } from "./helpers.js";

// Issue 13, item 6: failures were counted per IP, so every loopback client
// shared one counter, and 20 wrong tokens locked the owner out.

const wrongBearer = (i: number): RequestInit => ({
  headers: { Authorization: `Bearer wrong-${i}` },
});

describe("http auth: throttling wrong tokens", () => {
  it("answers wrong tokens 429 beyond 20 a minute, and never refuses the right token or a session", async () => {
    const h = await startHarness();
    try {
      const session = await login(h);
      const statuses: number[] = [];
      for (let i = 0; i < 25; i++)
        statuses.push((await fetch(h.at("/api/tasks"), wrongBearer(i))).status);
      assert.deepEqual(statuses, [...Array<number>(20).fill(401), ...Array<number>(5).fill(429)]);
      const wrong = await fetch(h.at("/metrics"), wrongBearer(99));
      assert.equal(wrong.status, 429);
      assert.ok(Number(wrong.headers.get("retry-after")) > 0);

      // The owner, on the same address, still gets in: bearer, cookie, and a new login.
      for (const path of ["/api/tasks", "/metrics"])
        assert.equal((await h.bearer(path)).status, 200, path);
      const withCookie = await fetch(h.at("/api/tasks"), { headers: { Cookie: session.cookie } });
      assert.equal(withCookie.status, 200);
      const postLogin = (token: string): Promise<Response> =>
        fetch(h.at("/login"), {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ token }),
        });
      assert.equal((await postLogin(TOKEN)).status, 200);
      const wrongLogin = await postLogin("nope");
      assert.equal(wrongLogin.status, 429);
      assert.ok(Number(wrongLogin.headers.get("retry-after")) > 0);

      h.clock.advance("61s");
      assert.equal((await fetch(h.at("/api/tasks"), wrongBearer(100))).status, 401);
    } finally {
      await h.close();
    }
  });

  it("counts a login before reading its body: concurrent wrong logins get no more than 20 answers of 401", async () => {
    const h = await startHarness();
    const connections: RawConnection[] = [];
    try {
      const port = new URL(h.server.url).port;
      const body = (i: number): string => JSON.stringify({ token: `wrong-${i}` });
      for (let i = 0; i < 30; i++) {
        const connection = await RawConnection.open(h.server.url);
        connections.push(connection);
        connection.write(
          `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body(i))}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
        );
      }
      // 100 Continue comes once the handler waits for the body: every post has been checked by then.
      await Promise.all(connections.map((c) => c.until(/^HTTP\/1\.1 100 Continue\r\n\r\n/)));
      connections.forEach((connection, i) => connection.write(body(i)));
      const statuses = await Promise.all(
        connections.map(async (c) => Number((await c.until(/\r\n\r\nHTTP\/1\.1 (\d{3}) /))[1])),
      );
      assert.equal(statuses.filter((status) => status === 401).length, 20, statuses.join(" "));
      assert.equal(statuses.filter((status) => status === 429).length, 10, statuses.join(" "));
      // And the right token still logs in.
      const right = await fetch(h.at("/login"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token: TOKEN }),
      });
      assert.equal(right.status, 200);
    } finally {
      for (const connection of connections) connection.close();
      await h.close();
    }
  });
});

describe("FailureLimiter", () => {
  it("takes back a reservation whose check succeeded, and says when a client is back under the limit", () => {
    const clock = new ManualClock("2026-03-01T10:00:00Z");
    const limiter = new FailureLimiter(clock, { limit: 3, windowMs: 60_000 });
    const pending = [1, 2, 3].map(() => limiter.reserve("a"));
    assert.deepEqual(
      pending.map((ticket) => ticket.retryAfterSeconds),
      [0, 0, 0],
    );
    assert.equal(limiter.reserve("a").retryAfterSeconds, 60);
    pending[0]?.release();
    assert.equal(limiter.retryAfterSeconds("a"), 0);
    assert.equal(limiter.retryAfterSeconds("b"), 0);
    clock.advance("20s");
    assert.equal(limiter.fail("a"), 40);
    clock.advance("41s");
    assert.equal(limiter.retryAfterSeconds("a"), 0);
    assert.equal(limiter.fail("a"), 0);
  });
});
