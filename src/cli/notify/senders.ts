import { createTransport, type Transporter } from "nodemailer";
import type { EmailTarget, WebhookTarget } from "./notify-targets.js";

/** How long one delivery may take before it counts as failed, in ms. */
export const SEND_TIMEOUT_MS = 15_000;

/** What a channel sends: the subject and text, and the webhook's JSON body. */
export interface Outgoing {
  readonly subject: string;
  readonly text: string;
  readonly payload: Record<string, unknown>;
}

/** Sends one message through one channel; rejects with the reason it was not delivered. */
export interface Senders {
  email(target: EmailTarget, message: Outgoing): Promise<void>;
  webhook(target: WebhookTarget, message: Outgoing): Promise<void>;
  /** Closes pooled connections. */
  close(): void;
}

/**
 * The daemon's senders: email through nodemailer's SMTP transport (one per
 * SMTP URL, kept), webhooks as a JSON POST with `text` (Slack's field).
 */
export function createSenders(): Senders {
  const transports = new Map<string, Transporter>();
  const transportFor = (url: string): Transporter => {
    let transport = transports.get(url);
    if (transport === undefined) {
      transport = createTransport({
        url,
        connectionTimeout: SEND_TIMEOUT_MS,
        greetingTimeout: SEND_TIMEOUT_MS,
        socketTimeout: SEND_TIMEOUT_MS,
      });
      transports.set(url, transport);
    }
    return transport;
  };
  return {
    async email(target, message) {
      await transportFor(target.smtpUrl).sendMail({
        from: target.from,
        to: [...target.to],
        subject: message.subject,
        text: message.text,
      });
    },
    async webhook(target, message) {
      const response = await fetch(target.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...target.headers },
        body: JSON.stringify(message.payload),
        redirect: "manual",
        signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      });
      const body = await response.text().catch(() => "");
      if (response.status < 200 || response.status > 299)
        throw new Error(`HTTP ${response.status}${body === "" ? "" : `: ${body.slice(0, 200)}`}`);
    },
    close() {
      for (const transport of transports.values()) transport.close();
      transports.clear();
    },
  };
}
