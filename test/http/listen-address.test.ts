import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { resolveListenHost, type LookupAll } from "../../src/http/listen-address.js";
import { startHttpServer } from "../../src/http/server.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";

// Issue 13, item 9: `--http dash.localhost:…` passed the loopback check by its
// name, before resolution.

const answers =
  (...addresses: string[]): LookupAll =>
  () =>
    Promise.resolve(addresses.map((address) => ({ address })));

describe("resolveListenHost", () => {
  it("decides loopback on the resolved addresses, all of them, and binds to the first", async () => {
    assert.deepEqual(await resolveListenHost("dash.localhost", answers("127.0.0.1")), {
      host: "dash.localhost",
      address: "127.0.0.1",
      loopback: true,
      wildcard: false,
    });
    assert.equal(
      (await resolveListenHost("dash.localhost", answers("203.0.113.7"))).loopback,
      false,
    );
    const mixed = await resolveListenHost("dash.localhost", answers("127.0.0.1", "203.0.113.7"));
    assert.equal(mixed.loopback, false);
    assert.equal(mixed.address, "127.0.0.1");
    assert.equal(
      (await resolveListenHost("localhost", answers("::1", "127.0.0.1"))).loopback,
      true,
    );
  });

  it("takes addresses as they are, without a lookup", async () => {
    const never: LookupAll = () => Promise.reject(new Error("looked up"));
    assert.equal((await resolveListenHost("127.0.0.1", never)).loopback, true);
    assert.equal((await resolveListenHost("[::1]", never)).address, "::1");
    assert.deepEqual(await resolveListenHost("0.0.0.0", never), {
      host: "0.0.0.0",
      address: "0.0.0.0",
      loopback: false,
      wildcard: true,
    });
  });

  it("refuses a name that does not resolve, saying so", async () => {
    const failing: LookupAll = () =>
      Promise.reject(Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" }));
    await assert.rejects(
      resolveListenHost("dash.localhost", failing),
      (error: unknown) =>
        error instanceof InvalidArgumentError &&
        error.argument === "options.host" &&
        /dash\.localhost/.test(error.message) &&
        /ENOTFOUND/.test(error.message),
    );
    await assert.rejects(resolveListenHost("dash.localhost", answers()), InvalidArgumentError);
  });
});

describe("startHttpServer: the host to listen on", () => {
  const scheduler = new Scheduler(new Dispatcher(), { logger: silentLogger });

  it("resolves a name and binds to its address: localhost is served on a loopback address", async () => {
    const server = await startHttpServer({ scheduler, host: "localhost", port: 0, metrics: false });
    try {
      const url = new URL(server.url);
      assert.match(url.hostname, /^(127\.\d+\.\d+\.\d+|\[::1\])$/);
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.close();
    }
  });

  it("does not take a *.localhost name for loopback without resolving it", async () => {
    // In this sandbox the name resolves to nothing; where it resolves to loopback
    // only, the server may start (and must then listen on that address).
    const host = "orchestrator-test-nonexistent.localhost";
    try {
      const server = await startHttpServer({ scheduler, host, port: 0, metrics: false });
      try {
        assert.match(new URL(server.url).hostname, /^(127\.\d+\.\d+\.\d+|\[::1\])$/);
      } finally {
        await server.close();
      }
    } catch (error) {
      assert.ok(error instanceof InvalidArgumentError, String(error));
      assert.match(error.message, /orchestrator-test-nonexistent\.localhost/);
    }
  });
});
