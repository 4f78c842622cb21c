import { escapeHtml } from "../responses.js";
import type { Role } from "../roles.js";

function head(title: string, extra = ""): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/style.css">
${extra}</head>
`;
}

/** Parameters of {@link loginPage}. */
export interface LoginPageOptions {
  /** Shown above the form (wrong token, too many attempts). */
  readonly error?: string;
  /** Where to go after logging in (a local path). */
  readonly next: string;
}

/**
 * The login form (`GET /login`). It posts the token to `/login`; its script
 * also accepts a token in the URL fragment (`/login#token=…`, the link a
 * daemon prints), which never reaches the server's logs.
 */
export function loginPage(options: LoginPageOptions): string {
  const error =
    options.error === undefined
      ? ""
      : `<p class="error" role="alert" id="login-error">${escapeHtml(options.error)}</p>\n`;
  return `${head("Log in · orchestrator", '<script src="/assets/login.js" defer></script>\n')}<body>
<main class="login" id="main">
<h1>orchestrator</h1>
${error}<form method="post" action="/login" id="login-form">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus${
    options.error === undefined ? "" : ' aria-describedby="login-error" aria-invalid="true"'
  }>
<input type="hidden" name="next" value="${escapeHtml(options.next)}">
<button type="submit" class="primary">Log in</button>
</form>
<p class="hint">The token is the value of <code>ORCHESTRATOR_TOKEN</code> (or <code>ORCHESTRATOR_READ_TOKEN</code> to only view), or the one the daemon printed when it started.</p>
</main>
</body>
</html>
`;
}

/** Parameters of {@link appPage}. */
export interface AppPageOptions {
  /** The session's CSRF token: the script sends it back in `X-CSRF-Token`, the logout form as `_csrf`. */
  readonly csrfToken: string;
  /** The task shown (task page) or undefined (the list). */
  readonly taskName?: string;
  /**
   * The session's role: a `read-only` page shows no action buttons (the
   * server refuses the actions anyway).
   * @defaultValue "admin"
   */
  readonly role?: Role;
  /** `timeline` serves the timeline (`/timeline`, `/assets/timeline.js`) instead of the task views. */
  readonly page?: "timeline";
}

/**
 * The dashboard shell (`/` and `/tasks/:name`): static landmarks, a live
 * region for messages, and `/assets/app.js`, which renders the task list or
 * the task page from the JSON API and keeps it current over SSE.
 */
export function appPage(options: AppPageOptions): string {
  const timeline = options.page === "timeline";
  const title = timeline
    ? "Timeline · orchestrator"
    : options.taskName === undefined
      ? "Tasks · orchestrator"
      : `${options.taskName} · orchestrator`;
  return `${head(
    title,
    `<meta name="csrf-token" content="${escapeHtml(options.csrfToken)}">
<meta name="orchestrator-role" content="${escapeHtml(options.role ?? "admin")}">
${timeline ? '<link rel="stylesheet" href="/assets/timeline.css">\n<script src="/assets/timeline.js" defer></script>' : '<script src="/assets/app.js" defer></script>'}
`,
  )}<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site">
<a class="brand" href="/">orchestrator</a>
<nav aria-label="Main"><a href="/">All tasks</a> <a href="/timeline"${timeline ? ' aria-current="page"' : ""}>Timeline</a></nav>
${options.role === "read-only" ? '<span class="badge role-read-only" id="role">Read-only</span>\n' : ""}<span class="live" id="live" aria-live="off">Connecting…</span>
<form method="post" action="/logout">
<input type="hidden" name="_csrf" value="${escapeHtml(options.csrfToken)}">
<button type="submit">Log out</button>
</form>
</header>
<main id="main" tabindex="-1">
<div id="status" role="status" aria-live="polite"></div>
<div id="view"><p class="muted">Loading…</p></div>
<noscript><p>The dashboard needs JavaScript; the JSON API is at <a href="/api/tasks">/api/tasks</a>.</p></noscript>
</main>
</body>
</html>
`;
}
