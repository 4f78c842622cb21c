import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/errors.js";
import { HostCheck, normalizeAllowedHost } from "../../src/http/host-check.js";
import { resolveListenHost } from "../../src/http/listen-address.js";
import { TOKEN, rawRequest, startHarness, type Harness } from "./helpers.js";

// Issue 13, item 7: a page of another origin whose name resolves to 127.0.0.1
// (DNS rebinding) reached the dashboard. Its requests carry its own name in Host.

describe("http Host check (DNS rebinding)", () => {
  let h: Harness;
  let port: string;
  before(async () => {
    h = await startHarness(async () => {}, { allowedHosts: ["dash.internal", ".example.com"] });
    port = new URL(h.server.url).port;
  });
  after(() => h.close());

  const get = (path: string, host: string | null, extra = ""): ReturnType<typeof rawRequest> =>
    rawRequest(
      h.server.url,
      `GET ${path} HTTP/1.1${host === null ? "" : `\r\nHost: ${host}`}\r\nAuthorization: Bearer ${TOKEN}${extra}`,
    );

  it("refuses a request naming another host with 421, whatever it carries", async () => {
    for (const path of ["/api/tasks", "/", "/login", "/metrics", "/assets/app.js"]) {
      const response = await get(path, `evil.example:${port}`);
      assert.equal(response.status, 421, path);
      assert.match(response.head, /content-type: text\/plain/i);
      assert.match(response.body, /Host header/);
    }
    const login = await rawRequest(
      h.server.url,
      `POST /login HTTP/1.1\r\nHost: evil.example:${port}\r\nContent-Type: application/json\r\nContent-Length: ${JSON.stringify({ token: TOKEN }).length}`,
      JSON.stringify({ token: TOKEN }),
    );
    assert.equal(login.status, 421);
    assert.doesNotMatch(login.head, /set-cookie/i);
    for (const host of [
      "evil-example.com",
      "dash.internal.evil",
      "127.0.0.1.evil.example",
      "10.1.2.3",
    ]) {
      assert.equal((await get("/api/tasks", `${host}:${port}`)).status, 421, host);
    }
  });

  it("refuses a request without a Host header", async () => {
    const response = await rawRequest(
      h.server.url,
      `GET /api/tasks HTTP/1.0\r\nAuthorization: Bearer ${TOKEN}`,
    );
    assert.equal(response.status, 421);
  });

  it("answers localhost, loopback addresses, and the names the operator allowed (any port)", async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `LocalHost.:${port}`,
      `[::1]:${port}`,
      "127.0.0.1",
      `localhost:9999`,
      "dash.internal",
      "dash.internal:443",
      "example.com",
      "www.EXAMPLE.com:8443",
    ]) {
      assert.equal((await get("/api/tasks", host)).status, 200, host);
    }
  });

  it("keeps /healthz open to any Host: it tells nothing, and health probes name hosts of their own", async () => {
    assert.equal((await get("/healthz", `evil.example:${port}`)).status, 200);
  });
});

describe("HostCheck", () => {
  it("allows any IP address when listening on every interface, only its own otherwise", async () => {
    const wildcard = new HostCheck(await resolveListenHost("0.0.0.0"));
    assert.equal(wildcard.allows("10.1.2.3:8080"), true);
    assert.equal(wildcard.allows("[2001:db8::1]:8080"), true);
    assert.equal(wildcard.allows("evil.example:8080"), false);
    const one = new HostCheck(await resolveListenHost("192.168.1.10"));
    assert.equal(one.allows("192.168.1.10:8080"), true);
    assert.equal(one.allows("10.1.2.3:8080"), false);
    assert.equal(one.allows("[::1]:8080"), true);
    assert.equal(one.allows("[0:0:0:0:0:0:0:1]:8080"), true);
    const named = new HostCheck({
      host: "dash.localhost",
      address: "127.0.0.1",
      loopback: true,
      wildcard: false,
    });
    assert.equal(named.allows("dash.localhost:8080"), true);
    assert.equal(named.allows("other.localhost:8080"), false);
  });

  it("refuses malformed Host headers", () => {
    const check = new HostCheck({
      host: "127.0.0.1",
      address: "127.0.0.1",
      loopback: true,
      wildcard: false,
    });
    for (const header of [
      undefined,
      "",
      "localhost:80:80",
      "user@localhost",
      "localhost/x",
      "[::1",
      "[zz]:80",
      "local host",
    ]) {
      assert.equal(check.allows(header), false, String(header));
    }
  });

  it("checks the allowed names: no scheme, no port", () => {
    assert.equal(normalizeAllowedHost(" Dash.Example.COM. ", "x"), "dash.example.com");
    assert.equal(normalizeAllowedHost(".example.com", "x"), ".example.com");
    assert.equal(normalizeAllowedHost("[::1]", "x"), "::1");
    for (const bad of [
      "",
      "http://dash.example.com",
      "dash.example.com:8080",
      "a b",
      "*.example.com",
    ]) {
      assert.throws(
        () => normalizeAllowedHost(bad, "--http-allowed-host"),
        (error: unknown) =>
          error instanceof InvalidArgumentError && error.argument === "--http-allowed-host",
        bad,
      );
    }
  });
});
