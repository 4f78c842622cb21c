import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { isLoopbackAddress } from "../../src/http/listen-address.js";
import { startHttpServer } from "../../src/http/server.js";
import { TOKEN, login, logout, startHarness, type Harness } from "./helpers.js";

describe("http auth", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(async (scheduler) => {
      await scheduler.registerTask("backup", "0 3 * * *", () => {});
    });
  });
  after(() => h.close());

  it("serves /healthz without a token, with no details", async () => {
    const response = await fetch(h.at("/healthz"));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ok" });
  });

  it("serves /readyz without a token: 503 until the scheduler runs, then 200", async () => {
    const before = await fetch(h.at("/readyz"));
    assert.equal(before.status, 503);
    assert.deepEqual(await before.json(), { status: "not-ready", reason: "not-started" });
    await h.scheduler.start();
    try {
      const ready = await fetch(h.at("/readyz"));
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: "ready" });
    } finally {
      await h.scheduler.stop();
    }
    assert.equal((await fetch(h.at("/readyz"), { method: "POST" })).status, 405);
  });

  it("refuses everything else without a token: 401 JSON for the API and /metrics", async () => {
    for (const path of [
      "/api/tasks",
      "/api/tasks/backup",
      "/api/tasks/backup/history",
      "/api/events",
      "/metrics",
      "/api/nope",
    ]) {
      const response = await fetch(h.at(path), { redirect: "manual" });
      assert.equal(response.status, 401, path);
      assert.match(response.headers.get("content-type") ?? "", /application\/json/, path);
      assert.equal(response.headers.get("www-authenticate"), 'Bearer realm="orchestrator"');
      assert.equal(((await response.json()) as { error: string }).error, "unauthorized");
    }
    for (const path of ["/api/tasks/backup/trigger", "/api/tasks/backup/pause", "/logout"]) {
      const response = await fetch(h.at(path), { method: "POST", redirect: "manual" });
      assert.equal(response.status, 401, path);
    }
    assert.equal(h.scheduler.getTask("backup")?.state, "active");
    assert.equal(h.scheduler.getTask("backup")?.runCount, 0);
  });

  it("redirects unauthenticated page requests to /login, keeping where they were going", async () => {
    const response = await fetch(h.at("/tasks/backup"), { redirect: "manual" });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get("location"), "/login?next=%2Ftasks%2Fbackup");
    const page = await fetch(h.at("/login?next=%2Ftasks%2Fbackup"));
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<label for="token">/);
    assert.match(html, /name="next" value="\/tasks\/backup"/);
  });

  it("refuses a wrong bearer token, accepts the right one", async () => {
    const wrong = await fetch(h.at("/api/tasks"), {
      headers: { Authorization: "Bearer not-the-token" },
    });
    assert.equal(wrong.status, 401);
    const prefix = await fetch(h.at("/api/tasks"), {
      headers: { Authorization: `Bearer ${TOKEN.slice(0, -1)}` },
    });
    assert.equal(prefix.status, 401);
    const right = await h.bearer("/api/tasks");
    assert.equal(right.status, 200);
    const body = (await right.json()) as { tasks: { name: string }[] };
    assert.deepEqual(
      body.tasks.map((t) => t.name),
      ["backup"],
    );
  });

  it("sends security headers: CSP without inline script, nosniff, referrer policy, no framing", async () => {
    for (const path of ["/healthz", "/login", "/api/tasks", "/assets/app.js"]) {
      const response = await h.bearer(path);
      const csp = response.headers.get("content-security-policy") ?? "";
      assert.match(csp, /script-src 'self'(;|$)/, path);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
      assert.equal(response.headers.get("referrer-policy"), "same-origin", path);
      assert.equal(response.headers.get("x-frame-options"), "DENY", path);
    }
    const page = await (await fetch(h.at("/login"))).text();
    assert.doesNotMatch(page, /<script>|<script [^>]*>[^<]/, "no inline script");
  });

  it("logging in with the form sets an HttpOnly, SameSite=Strict, Path=/ cookie (not Secure on http)", async () => {
    const session = await login(h);
    const attributes = session.setCookie.split(";").map((part) => part.trim());
    assert.match(attributes[0] ?? "", /^orchestrator_session=[\w-]{40,}$/);
    assert.ok(attributes.includes("HttpOnly"));
    assert.ok(attributes.includes("SameSite=Strict"));
    assert.ok(attributes.includes("Path=/"));
    assert.ok(!attributes.some((a) => a.toLowerCase() === "secure"));
    const api = await fetch(h.at("/api/tasks/backup"), { headers: { Cookie: session.cookie } });
    assert.equal(api.status, 200);
    const loginAgain = await fetch(h.at("/login?next=/tasks/backup"), {
      headers: { Cookie: session.cookie },
      redirect: "manual",
    });
    assert.equal(loginAgain.status, 303);
    assert.equal(loginAgain.headers.get("location"), "/tasks/backup");
  });

  it("refuses a login with a wrong token, and never redirects off-site after login", async () => {
    const origin = new URL(h.server.url).origin;
    const wrong = await fetch(h.at("/login"), {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: origin },
      body: "token=nope&next=%2F",
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get("set-cookie"), null);
    assert.match(await wrong.text(), /role="alert"/);
    for (const next of ["//evil.example/", "https://evil.example/", "/\\evil.example"]) {
      const response = await fetch(h.at("/login"), {
        method: "POST",
        redirect: "manual",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: origin },
        body: new URLSearchParams({ token: TOKEN, next }).toString(),
      });
      assert.equal(response.status, 303);
      assert.equal(response.headers.get("location"), "/", next);
    }
  });

  it("refuses a login posted from another site", async () => {
    const response = await fetch(h.at("/login"), {
      method: "POST",
      redirect: "manual",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Origin: "https://evil.example",
        "Sec-Fetch-Site": "cross-site",
      },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    assert.equal(response.status, 403);
    assert.equal(response.headers.get("set-cookie"), null);
  });

  describe("CSRF on cookie sessions", () => {
    const post = (path: string, headers: Record<string, string>): Promise<Response> =>
      fetch(h.at(path), { method: "POST", redirect: "manual", headers });

    it("refuses a cookie-authenticated POST without the CSRF token", async () => {
      const session = await login(h);
      const origin = new URL(h.server.url).origin;
      const response = await post("/api/tasks/backup/pause", {
        Cookie: session.cookie,
        Origin: origin,
        "Sec-Fetch-Site": "same-origin",
      });
      assert.equal(response.status, 403);
      assert.equal(((await response.json()) as { error: string }).error, "csrf");
      assert.equal(h.scheduler.getTask("backup")?.state, "active");
    });

    it("refuses a wrong CSRF token, and one from another session", async () => {
      const session = await login(h);
      const other = await login(h);
      const origin = new URL(h.server.url).origin;
      for (const token of ["x".repeat(43), other.csrfToken]) {
        const response = await post("/api/tasks/backup/pause", {
          Cookie: session.cookie,
          Origin: origin,
          "X-CSRF-Token": token,
        });
        assert.equal(response.status, 403);
      }
      assert.equal(h.scheduler.getTask("backup")?.state, "active");
    });

    it("refuses a POST with the right CSRF token from another origin, or with no origin at all", async () => {
      const session = await login(h);
      const cases: Record<string, string>[] = [
        { Origin: "https://evil.example" },
        { Origin: "null" },
        { "Sec-Fetch-Site": "cross-site" },
        { "Sec-Fetch-Site": "same-site", Origin: new URL(h.server.url).origin },
        {},
      ];
      for (const extra of cases) {
        const response = await post("/api/tasks/backup/pause", {
          Cookie: session.cookie,
          "X-CSRF-Token": session.csrfToken,
          ...extra,
        });
        assert.equal(response.status, 403, JSON.stringify(extra));
      }
      assert.equal(h.scheduler.getTask("backup")?.state, "active");
    });

    it("accepts a same-origin POST with the session's CSRF token", async () => {
      const session = await login(h);
      const response = await post("/api/tasks/backup/pause", {
        Cookie: session.cookie,
        Origin: new URL(h.server.url).origin,
        "Sec-Fetch-Site": "same-origin",
        "X-CSRF-Token": session.csrfToken,
      });
      assert.equal(response.status, 200);
      assert.equal(h.scheduler.getTask("backup")?.state, "paused");
      await h.scheduler.resumeTask("backup");
    });

    it("needs no CSRF token with a bearer header (browsers never add one by themselves)", async () => {
      const response = await h.bearer("/api/tasks/backup/pause", { method: "POST" });
      assert.equal(response.status, 200);
      assert.equal(h.scheduler.getTask("backup")?.state, "paused");
      await h.scheduler.resumeTask("backup");
    });

    it("logs out only with the CSRF token, and the cookie stops working", async () => {
      const session = await login(h);
      const origin = new URL(h.server.url).origin;
      const refused = await fetch(h.at("/logout"), {
        method: "POST",
        redirect: "manual",
        headers: {
          Cookie: session.cookie,
          Origin: origin,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: "",
      });
      assert.equal(refused.status, 403);
      const response = await logout(h, session);
      assert.equal(response.status, 303);
      assert.equal(response.headers.get("location"), "/login");
      assert.match(response.headers.get("set-cookie") ?? "", /Max-Age=0/);
      const after = await fetch(h.at("/api/tasks"), { headers: { Cookie: session.cookie } });
      assert.equal(after.status, 401);
    });
  });
});

describe("http auth: sessions", () => {
  it("marks the cookie Secure with the __Host- prefix behind a trusted https proxy", async () => {
    const h = await startHarness(async () => {}, { trustProxy: true });
    try {
      const response = await fetch(h.at("/login"), {
        method: "POST",
        redirect: "manual",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "X-Forwarded-Proto": "https",
          Origin: `https://${new URL(h.server.url).host}`,
        },
        body: new URLSearchParams({ token: TOKEN }).toString(),
      });
      assert.equal(response.status, 303);
      const cookie = response.headers.get("set-cookie") ?? "";
      assert.match(cookie, /^__Host-orchestrator_session=/);
      assert.ok(cookie.split("; ").includes("Secure"));
      // The same header from an untrusted client changes nothing.
      const plain = await startHarness();
      try {
        const untrusted = await fetch(plain.at("/login"), {
          method: "POST",
          redirect: "manual",
          headers: { "Content-Type": "application/json", "X-Forwarded-Proto": "https" },
          body: JSON.stringify({ token: TOKEN }),
        });
        assert.equal(untrusted.status, 200);
        assert.doesNotMatch(untrusted.headers.get("set-cookie") ?? "", /Secure|__Host-/);
        const body = (await untrusted.json()) as { ok: boolean; csrfToken: string };
        assert.equal(body.ok, true);
        assert.ok(body.csrfToken.length >= 40);
      } finally {
        await plain.close();
      }
    } finally {
      await h.close();
    }
  });

  it("expires an idle session after its lifetime (on the scheduler's clock)", async () => {
    const h = await startHarness(async () => {}, { sessionTtlMs: 60_000 });
    try {
      const session = await login(h);
      h.clock.advance("59s");
      assert.equal(
        (await fetch(h.at("/api/tasks"), { headers: { Cookie: session.cookie } })).status,
        200,
      );
      h.clock.advance("59s");
      assert.equal(
        (await fetch(h.at("/api/tasks"), { headers: { Cookie: session.cookie } })).status,
        200,
      );
      h.clock.advance("61s");
      assert.equal(
        (await fetch(h.at("/api/tasks"), { headers: { Cookie: session.cookie } })).status,
        401,
      );
    } finally {
      await h.close();
    }
  });
});

describe("http server options", () => {
  const scheduler = new Scheduler(new Dispatcher(), { logger: silentLogger });

  it("refuses to start on a non-loopback host without a token", async () => {
    for (const host of ["0.0.0.0", "::", "192.168.1.10"]) {
      await assert.rejects(
        startHttpServer({ scheduler, host, port: 0 }),
        (error: unknown) =>
          error instanceof InvalidArgumentError &&
          error.argument === "options.token" &&
          /not a loopback address/.test(error.message) &&
          /ORCHESTRATOR_TOKEN/.test(error.message),
        host,
      );
    }
    await assert.rejects(startHttpServer({ scheduler, host: "0.0.0.0", port: 0, token: " " }), {
      name: "InvalidArgumentError",
    });
  });

  it("generates a token on loopback when none is given, and its login URL works", async () => {
    const server = await startHttpServer({ scheduler, port: 0, metrics: false });
    try {
      assert.ok(server.token.length >= 40);
      assert.ok(server.loginUrl.startsWith(`${server.url}/login#token=`));
      const response = await fetch(`${server.url}/api/tasks`, {
        headers: { Authorization: `Bearer ${server.token}` },
      });
      assert.equal(response.status, 200);
      assert.equal(
        (
          await fetch(`${server.url}/metrics`, {
            headers: { Authorization: `Bearer ${server.token}` },
          })
        ).status,
        404,
      );
    } finally {
      await server.close();
    }
  });

  it("knows loopback addresses, and no name is one by itself", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1"]) {
      assert.equal(isLoopbackAddress(host), true, host);
    }
    for (const host of [
      "0.0.0.0",
      "::",
      "10.0.0.1",
      "example.com",
      "128.0.0.1",
      "::ffff:10.0.0.1",
      // Names are not addresses: they are resolved first (see listen-address.test.ts).
      "localhost",
      "dash.localhost",
    ]) {
      assert.equal(isLoopbackAddress(host), false, host);
    }
  });
});
