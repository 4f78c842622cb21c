import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { safeNextPath } from "../../src/http/responses.js";
import { TOKEN, login, rawRequest, startHarness, type Harness } from "./helpers.js";

// Issue 13, item 9: `GET /login?next=/%C4%80` answered "500 See Other": the
// decoded path went into the Location header as is.

describe("login: where to go next", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it("redirects a logged-in visitor to a non-ASCII next path, percent-encoded", async () => {
    const session = await login(h);
    const ways: Record<string, string>[] = [
      { Cookie: session.cookie },
      { Authorization: `Bearer ${TOKEN}` },
    ];
    for (const headers of ways) {
      const response = await fetch(h.at("/login?next=/%C4%80"), { headers, redirect: "manual" });
      assert.equal(response.status, 303);
      assert.equal(response.headers.get("location"), "/%C4%80");
    }
    const port = new URL(h.server.url).port;
    const raw = await rawRequest(
      h.server.url,
      `GET /login?next=/%C4%80 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${TOKEN}`,
    );
    assert.match(raw.head, /^HTTP\/1\.1 303 See Other\r\n/);
  });

  it("turns malformed percent-encoding into a safe redirect, never a 500", async () => {
    for (const next of ["/%E0%A4%A", "/%C4", "/%", "/%ZZ", "/%F0%9F%98%80%80"]) {
      const response = await h.bearer(`/login?next=${next}`);
      assert.equal(response.status, 303, next);
      const location = response.headers.get("location") ?? "";
      assert.match(location, /^\/[\x21-\x7e]*$/, next);
    }
    const form = await fetch(h.at("/login"), {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `token=${TOKEN}&next=/%C4%80%E0%A4`,
    });
    assert.equal(form.status, 303);
    assert.equal(form.headers.get("location"), "/%C4%80%EF%BF%BD");
  });

  it("keeps the next path of the login form encoded", async () => {
    const page = await (await fetch(h.at("/login?next=/tasks/%C4%80"))).text();
    assert.match(page, /name="next" value="\/tasks\/%C4%80"/);
  });
});

describe("safeNextPath", () => {
  it("percent-encodes what a Location header cannot carry, and refuses other sites", () => {
    assert.equal(safeNextPath("/Ā"), "/%C4%80");
    assert.equal(safeNextPath("/a b?x=é#h"), "/a%20b?x=%C3%A9#h");
    assert.equal(safeNextPath("/tasks/backup"), "/tasks/backup");
    for (const next of [
      "//evil.example",
      "/\\evil.example",
      "https://evil.example/",
      "/a\nb",
      null,
    ]) {
      assert.equal(safeNextPath(next), "/", String(next));
    }
  });
});
