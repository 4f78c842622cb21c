import { isIPv4, isIPv6 } from "node:net";
import { InvalidArgumentError, Redacted } from "../errors.js";
import { TOKEN_ENV } from "./child-env.js";

/** The shortest `ORCHESTRATOR_TOKEN` accepted on an address other than a loopback IP, in characters. */
export const MIN_NETWORK_TOKEN_LENGTH = 32;

/**
 * Whether `host` is a loopback IP address written as such (127.0.0.0/8, ::1,
 * ::ffff:127.x.x.x). Names, even `localhost`, are not: what a name resolves to
 * is up to the resolver.
 */
function isLoopbackLiteral(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  if (isIPv4(h)) return h.startsWith("127.");
  if (!isIPv6(h)) return false;
  if (h === "::1" || /^(0{1,4}:){7}0{0,3}1$/.test(h)) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)?.[1];
  return mapped !== undefined && mapped.startsWith("127.");
}

/**
 * Refuses a short dashboard token on an address other people can reach: on
 * anything but a loopback IP address, `ORCHESTRATOR_TOKEN` must have at least
 * {@link MIN_NETWORK_TOKEN_LENGTH} characters (a guessable token is the
 * only thing between the network and the power to run tasks).
 *
 * @param token - the token as the daemon uses it (trimmed), or undefined when unset
 *   (the HTTP server then refuses a non-loopback address itself).
 * @throws InvalidArgumentError naming `ORCHESTRATOR_TOKEN`, its length (never its value) and how to make one.
 */
export function checkDashboardToken(token: string | undefined, host: string): void {
  if (token === undefined || token.length >= MIN_NETWORK_TOKEN_LENGTH) return;
  if (isLoopbackLiteral(host)) return;
  throw new InvalidArgumentError(
    TOKEN_ENV,
    `at least ${MIN_NETWORK_TOKEN_LENGTH} characters when --http listens on ${host}, which is not a loopback address`,
    new Redacted(`a token of ${token.length} characters`),
    "generate one with `openssl rand -base64 32`, or listen on 127.0.0.1",
  );
}
