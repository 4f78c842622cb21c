import * as z from "zod";
import { checkEnvRefs, findEnvRefs } from "../env-refs.js";
import { formatPath, type Problem } from "../schedule-issues.js";

type Path = readonly (string | number)[];

/** What a `notify` block can be told about. */
export const NOTIFY_EVENTS = ["failure", "recovery", "missed", "stuck"] as const;

/** One of {@link NOTIFY_EVENTS}. */
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** `on` when a `notify` block does not say. */
export const DEFAULT_NOTIFY_ON: readonly NotifyEvent[] = ["failure", "recovery"];

const nonEmpty = z.string().min(1);

/** The `notify.email` object. */
export const notifyEmailSchema = z.strictObject({
  to: z.union([nonEmpty, z.array(nonEmpty).min(1)]),
  from: nonEmpty.optional(),
  smtp: nonEmpty,
});

/** The `notify.webhook` object. */
export const notifyWebhookSchema = z.strictObject({
  url: nonEmpty,
  headers: z.record(z.string(), z.string()).optional(),
});

/** A `notify` block, per task or at the file's top level (the tasks' default). */
export const notifySchema = z.strictObject({
  on: z.array(z.enum(NOTIFY_EVENTS)).optional(),
  email: notifyEmailSchema.optional(),
  webhook: notifyWebhookSchema.optional(),
});

/** A `notify` block as written. */
export type RawNotify = z.infer<typeof notifySchema>;

/** What each `notify` key expects, for error messages (merged into the file's EXPECTED). */
export const NOTIFY_EXPECTED: Readonly<Record<string, string>> = {
  notify: "an object with `on` (failure, recovery, missed, stuck) and `email` and/or `webhook`",
  on: `a list of ${NOTIFY_EVENTS.join(", ")} (empty: no notifications for this task)`,
  "on[]": `one of ${NOTIFY_EVENTS.join(", ")}`,
  email: 'an object with `to`, `smtp` (e.g. "${SMTP_URL}") and optionally `from`',
  webhook: "an object with `url` and optionally `headers`",
  to: "an email address or a list of them",
  "to[]": "an email address",
  from: "an email address",
  smtp: 'an smtp:// or smtps:// URL, e.g. "${SMTP_URL}" (keep its password out of the file)',
  stuckAfterMs: "a whole number of milliseconds ≥ 1: a run longer than this is reported stuck",
};

/** The keys allowed in a `notify` object at `rest` (the path below `notify`). */
export function notifyKeysAt(rest: readonly PropertyKey[]): readonly string[] {
  if (rest.length === 0) return Object.keys(notifySchema.shape);
  if (rest[0] === "email") return Object.keys(notifyEmailSchema.shape);
  if (rest[0] === "webhook") return Object.keys(notifyWebhookSchema.shape);
  return [];
}

/** A task's notification settings, the file's default merged in; `${NAME}` references kept as written. */
export interface NotifySpec {
  readonly on: readonly NotifyEvent[];
  readonly email?: {
    readonly to: readonly string[];
    readonly from?: string;
    readonly smtp: string;
  };
  readonly webhook?: {
    readonly url: string;
    readonly headers: Readonly<Record<string, string>>;
  };
}

/** Every string of a `notify` block, with its path, for the `${…}` checks. */
function notifyStrings(notify: RawNotify, path: Path): [Path, string][] {
  const strings: [Path, string][] = [];
  const { email, webhook } = notify;
  if (email !== undefined) {
    const to = typeof email.to === "string" ? [email.to] : email.to;
    to.forEach((value, index) =>
      strings.push([
        typeof email.to === "string" ? [...path, "email", "to"] : [...path, "email", "to", index],
        value,
      ]),
    );
    if (email.from !== undefined) strings.push([[...path, "email", "from"], email.from]);
    strings.push([[...path, "email", "smtp"], email.smtp]);
  }
  if (webhook !== undefined) {
    strings.push([[...path, "webhook", "url"], webhook.url]);
    for (const [key, value] of Object.entries(webhook.headers ?? {}))
      strings.push([[...path, "webhook", "headers", key], value]);
  }
  return strings;
}

/** Checks a value that holds no `${…}` reference now (one that does is checked once resolved). */
function literalProblem(path: Path, value: string): string | undefined {
  if (findEnvRefs(value).length > 0) return undefined;
  const key = path.at(-1) === "to" || typeof path.at(-1) === "number" ? "to" : path.at(-1);
  const url = (protocols: readonly string[]): boolean => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  };
  if (key === "url" && !url(["http:", "https:"]))
    return `must be an http:// or https:// URL, got ${JSON.stringify(value)}`;
  if (key === "smtp" && !url(["smtp:", "smtps:"]))
    return `must be an smtp:// or smtps:// URL such as "\${SMTP_URL}", got ${JSON.stringify(value)}`;
  if (
    (key === "to" || key === "from") &&
    !/^[^\s@]+@[^\s@]+$/.test(value.replace(/^.*<(.*)>$/, "$1"))
  )
    return `must be an email address, got ${JSON.stringify(value)}`;
  return undefined;
}

/**
 * Checks of a parsed `notify` block beyond its shape: `${…}` syntax, and
 * URLs and addresses written without references.
 */
export function notifyProblems(notify: RawNotify, path: Path): Problem[] {
  const problems: Problem[] = [];
  for (const [where, value] of notifyStrings(notify, path)) {
    const bad = checkEnvRefs(value);
    if (bad) {
      problems.push({
        path: where,
        index: bad.offset,
        message: `\`${formatPath(where)}\`: ${bad.message}`,
      });
      continue;
    }
    const wrong = literalProblem(where, value);
    if (wrong) problems.push({ path: where, message: `\`${formatPath(where)}\` ${wrong}` });
  }
  return problems;
}

/**
 * Warnings for `${NAME}` references in a `notify` block to variables not set:
 * that channel stays off until they are (not an error: an example may leave
 * its receiver unset).
 */
export function unsetNotifyRefWarnings(
  notify: RawNotify,
  path: Path,
  isSet: (name: string) => boolean,
): Problem[] {
  const warnings: Problem[] = [];
  for (const [where, value] of notifyStrings(notify, path)) {
    for (const ref of findEnvRefs(value)) {
      if (isSet(ref.name)) continue;
      const channel = where[path.length] ?? "notify";
      warnings.push({
        path: where,
        index: ref.offset,
        message: `\`${formatPath(where)}\` refers to \${${ref.name}}, which is not set: ${String(channel)} notifications are off until it is`,
      });
    }
  }
  return warnings;
}

/**
 * A task's {@link NotifySpec}: its own block over the file's default, key by
 * key (`on`, `email`, `webhook`). Undefined when neither says anything, or
 * `on` is empty.
 */
export function mergeNotify(
  task: RawNotify | undefined,
  file: RawNotify | undefined,
): NotifySpec | undefined {
  if (task === undefined && file === undefined) return undefined;
  const on = task?.on ?? file?.on ?? DEFAULT_NOTIFY_ON;
  const email = task?.email ?? file?.email;
  const webhook = task?.webhook ?? file?.webhook;
  if (on.length === 0 || (email === undefined && webhook === undefined)) return undefined;
  return {
    on: [...new Set(on)],
    ...(email === undefined
      ? {}
      : {
          email: {
            to: typeof email.to === "string" ? [email.to] : [...email.to],
            ...(email.from === undefined ? {} : { from: email.from }),
            smtp: email.smtp,
          },
        }),
    ...(webhook === undefined
      ? {}
      : { webhook: { url: webhook.url, headers: { ...webhook.headers } } }),
  };
}

/** A problem when a task's merged block has events but no channel. */
export function channelProblem(
  task: RawNotify | undefined,
  file: RawNotify | undefined,
  path: Path,
): Problem[] {
  if (task === undefined) return [];
  const on = task.on ?? file?.on ?? DEFAULT_NOTIFY_ON;
  const hasChannel = (task.email ?? file?.email ?? task.webhook ?? file?.webhook) !== undefined;
  if (on.length === 0 || hasChannel) return [];
  return [
    {
      path,
      message:
        "`notify` needs `email` or `webhook` (in the task or in the file's top-level `notify`), or `on: []` to turn notifications off",
    },
  ];
}
