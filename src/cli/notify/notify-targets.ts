import { hostname } from "node:os";
import { MissingEnvVarError } from "../../errors.js";
import type { NotificationChannel } from "../../store/notification-outbox.js";
import { resolveEnvRecord, resolveEnvRefs } from "../env-refs.js";
import type { SecretRedactor } from "../secret-redactor.js";
import type { ScheduleSpec } from "../schedule-spec.js";
import type { NotifyEvent, NotifySpec } from "./notify-schema.js";

/** An email channel with its `${NAME}` references resolved. */
export interface EmailTarget {
  readonly to: readonly string[];
  readonly from: string;
  /** Secret: never stored or shown. */
  readonly smtpUrl: string;
  /** The recipients as stored and shown (redacted). */
  readonly recipient: string;
}

/** A webhook channel with its `${NAME}` references resolved. */
export interface WebhookTarget {
  /** Secret (a Slack webhook URL is a credential): never stored or shown. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The URL as stored and shown: its origin only. */
  readonly recipient: string;
}

/** A task's resolved notification settings. */
export interface TaskTargets {
  readonly on: ReadonlySet<NotifyEvent>;
  readonly stuckAfterMs?: number;
  readonly email?: EmailTarget;
  readonly webhook?: WebhookTarget;
}

/** A channel of a task that could not be resolved, and why (it stays off). */
export interface TargetProblem {
  readonly taskName: string;
  readonly channel: NotificationChannel;
  readonly message: string;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function hasUrlProtocol(value: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

function resolveEmail(
  email: NonNullable<NotifySpec["email"]>,
  env: Readonly<Record<string, string | undefined>>,
  owner: string,
  redactor: SecretRedactor,
): EmailTarget {
  const to = email.to.map((address) => resolveEnvRefs(address, env, `notify.email.to of ${owner}`));
  const smtpUrl = resolveEnvRefs(email.smtp, env, `notify.email.smtp of ${owner}`);
  if (!hasUrlProtocol(smtpUrl, ["smtp:", "smtps:"]))
    throw new Error(
      `notify.email.smtp of ${owner} is not an smtp:// or smtps:// URL once resolved`,
    );
  const password = new URL(smtpUrl).password;
  redactor.add(password);
  try {
    redactor.add(decodeURIComponent(password));
  } catch {
    // A malformed %-escape: the password is added as written above.
  }
  const from =
    email.from === undefined
      ? `orchestrator@${hostname()}`
      : resolveEnvRefs(email.from, env, `notify.email.from of ${owner}`);
  return { to, from, smtpUrl, recipient: redactor.redact(to.join(", ")) };
}

function resolveWebhook(
  webhook: NonNullable<NotifySpec["webhook"]>,
  env: Readonly<Record<string, string | undefined>>,
  owner: string,
  redactor: SecretRedactor,
): WebhookTarget {
  const url = resolveEnvRefs(webhook.url, env, `notify.webhook.url of ${owner}`);
  if (!hasUrlProtocol(url, ["http:", "https:"]))
    throw new Error(
      `notify.webhook.url of ${owner} is not an http:// or https:// URL once resolved`,
    );
  const headers = resolveEnvRecord(webhook.headers, env, "notify.webhook.headers", owner);
  // The path of a webhook URL is often its secret (Slack's is): only the origin is shown.
  const parsed = new URL(url);
  return { url, headers, recipient: redactor.redact(`${parsed.protocol}//${parsed.host}/…`) };
}

/**
 * Resolves the `notify` settings of a schedule's tasks against the daemon's
 * environment, adding every value a `${NAME}` reference brought in (and an
 * SMTP URL's password) to the redactor. A channel whose variables are not set,
 * or that does not resolve to a URL, is left off and reported in `problems`.
 */
export function resolveTargets(
  schedule: ScheduleSpec,
  env: Readonly<Record<string, string | undefined>>,
  redactor: SecretRedactor,
): { targets: Map<string, TaskTargets>; problems: TargetProblem[] } {
  const targets = new Map<string, TaskTargets>();
  const problems: TargetProblem[] = [];
  for (const task of schedule.tasks) {
    const notify = task.notify;
    if (notify === undefined) continue;
    const owner = `task ${JSON.stringify(task.name)}`;
    const strings = [
      ...(notify.email === undefined
        ? []
        : [...notify.email.to, notify.email.smtp, notify.email.from ?? ""]),
      ...(notify.webhook === undefined
        ? []
        : [notify.webhook.url, ...Object.values(notify.webhook.headers)]),
    ];
    redactor.addReferencedValues(strings, env);
    const channel = <T>(name: NotificationChannel, resolve: () => T): T | undefined => {
      try {
        return resolve();
      } catch (error) {
        const reason =
          error instanceof MissingEnvVarError
            ? `${messageOf(error)}: ${name} notifications are off until it is set`
            : messageOf(error);
        problems.push({ taskName: task.name, channel: name, message: redactor.redact(reason) });
        return undefined;
      }
    };
    const { email: emailSpec, webhook: webhookSpec } = notify;
    const email =
      emailSpec === undefined
        ? undefined
        : channel("email", () => resolveEmail(emailSpec, env, owner, redactor));
    const webhook =
      webhookSpec === undefined
        ? undefined
        : channel("webhook", () => resolveWebhook(webhookSpec, env, owner, redactor));
    targets.set(task.name, {
      on: new Set(notify.on),
      ...(task.stuckAfterMs === undefined ? {} : { stuckAfterMs: task.stuckAfterMs }),
      ...(email === undefined ? {} : { email }),
      ...(webhook === undefined ? {} : { webhook }),
    });
  }
  return { targets, problems };
}
