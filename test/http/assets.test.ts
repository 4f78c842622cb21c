import assert from "node:assert/strict";
import { Script } from "node:vm";
import { after, before, describe, it } from "node:test";
import { APP_JS } from "../../src/http/dashboard/app-script.js";
import { LOGIN_JS } from "../../src/http/dashboard/login-script.js";
import { appPage, loginPage } from "../../src/http/dashboard/pages.js";
import { safeNextPath } from "../../src/http/responses.js";
import { login, startHarness, type Harness } from "./helpers.js";

describe("dashboard assets", () => {
  it("embeds scripts that parse", () => {
    for (const source of [APP_JS, LOGIN_JS]) {
      assert.doesNotThrow(() => new Script(source));
    }
  });

  it("escapes what it puts into pages", () => {
    const page = appPage({ csrfToken: '"><script>x</script>', taskName: "<b>t</b>" });
    assert.doesNotMatch(page, /<script>x|<b>t/);
    assert.match(page, /&lt;b&gt;t&lt;\/b&gt; · orchestrator/);
    const form = loginPage({ next: '/"><img src=x>', error: "<i>bad</i>" });
    assert.doesNotMatch(form, /<img src=x>|<i>bad/);
  });

  it("keeps redirects after login on this site", () => {
    assert.equal(safeNextPath("/tasks/a?b=1"), "/tasks/a?b=1");
    for (const bad of ["//evil", "/\\evil", "https://evil", "evil", "", null, "/\nx"]) {
      assert.equal(safeNextPath(bad), "/", String(bad));
    }
  });
});

describe("dashboard pages over HTTP", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it("serves static assets without a token, with ETags and the right types", async () => {
    for (const [path, type] of [
      ["/assets/app.js", "text/javascript"],
      ["/assets/login.js", "text/javascript"],
      ["/assets/style.css", "text/css"],
      ["/assets/favicon.svg", "image/svg+xml"],
    ] as const) {
      const response = await fetch(h.at(path));
      assert.equal(response.status, 200, path);
      assert.ok(response.headers.get("content-type")?.startsWith(type), path);
      const etag = response.headers.get("etag") ?? "";
      assert.match(etag, /^"[\w-]+"$/);
      const again = await fetch(h.at(path), { headers: { "If-None-Match": etag } });
      assert.equal(again.status, 304, path);
    }
  });

  it("serves the dashboard shell with the session's CSRF token and a logout form", async () => {
    const session = await login(h);
    const response = await fetch(h.at("/tasks/backup"), { headers: { Cookie: session.cookie } });
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.match(html, /<script src="\/assets\/app.js" defer><\/script>/);
    assert.match(html, new RegExp(`name="_csrf" value="${session.csrfToken}"`));
    assert.match(html, /<main id="main"/);
    assert.match(html, /role="status" aria-live="polite"/);
  });
});
