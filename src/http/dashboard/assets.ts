import { createHash } from "node:crypto";
import { APP_JS } from "./app-script.js";
import { LOGIN_JS } from "./login-script.js";
import { STYLE_CSS } from "./style.js";
import { TIMELINE_CSS, TIMELINE_JS } from "./timeline-script.js";

/** The dashboard's icon: a clock face. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="14" fill="#0a58ca"/><path d="M16 7v9l6 4" stroke="#fff" stroke-width="3" fill="none" stroke-linecap="round"/></svg>`;

/** One static file of the dashboard, embedded in the code (nothing to copy into dist/). */
export interface StaticAsset {
  readonly contentType: string;
  readonly body: string;
  /** A strong ETag (hash of the body). */
  readonly etag: string;
}

function asset(contentType: string, body: string): StaticAsset {
  const hash = createHash("sha256").update(body).digest("base64url").slice(0, 22);
  return Object.freeze({ contentType, body, etag: `"${hash}"` });
}

/**
 * The files served under `/assets/` (without authentication: they are the
 * same for everyone and hold no data; the login page needs them).
 * Built on first use, so importing this module does no work.
 */
export function staticAssets(): ReadonlyMap<string, StaticAsset> {
  return new Map([
    ["/assets/app.js", asset("text/javascript; charset=utf-8", APP_JS)],
    ["/assets/login.js", asset("text/javascript; charset=utf-8", LOGIN_JS)],
    ["/assets/style.css", asset("text/css; charset=utf-8", STYLE_CSS)],
    ["/assets/timeline.js", asset("text/javascript; charset=utf-8", TIMELINE_JS)],
    ["/assets/timeline.css", asset("text/css; charset=utf-8", TIMELINE_CSS)],
    ["/assets/favicon.svg", asset("image/svg+xml", FAVICON_SVG)],
  ]);
}
