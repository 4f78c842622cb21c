import { InvalidArgumentError, Redacted } from "../errors.js";
import { resolveListenHost } from "../http/listen-address.js";
import { READ_TOKEN_ENV, TOKEN_ENV } from "./child-env.js";

/** The shortest dashboard token accepted on an address other than loopback, in characters. */
export const MIN_NETWORK_TOKEN_LENGTH = 32;

/**
 * Refuses a short dashboard token on an address other people can reach: when
 * `host` is not loopback (a name counts only when every address it resolves
 * to is a loopback address), `ORCHESTRATOR_TOKEN` and
 * `ORCHESTRATOR_READ_TOKEN` must have at least {@link MIN_NETWORK_TOKEN_LENGTH}
 * characters: a guessable token is all that stands between the network and
 * the power to run (or watch) tasks.
 *
 * @param tokens - the tokens as the daemon uses them (trimmed; undefined when
 *   unset: the HTTP server then refuses a non-loopback address itself).
 * @throws InvalidArgumentError naming the variable, the token's length (never
 *   its value) and how to make one.
 */
export async function checkDashboardTokens(
  tokens: { readonly admin: string | undefined; readonly readOnly: string | undefined },
  host: string,
): Promise<void> {
  const short = (
    [
      [TOKEN_ENV, tokens.admin],
      [READ_TOKEN_ENV, tokens.readOnly],
    ] as const
  ).find(([, token]) => token !== undefined && token.length < MIN_NETWORK_TOKEN_LENGTH);
  if (short === undefined) return;
  if ((await resolveListenHost(host)).loopback) return;
  const [name, token] = short;
  throw new InvalidArgumentError(
    name,
    `at least ${MIN_NETWORK_TOKEN_LENGTH} characters when --http listens on ${host}, which is not a loopback address`,
    new Redacted(`a token of ${token?.length ?? 0} characters`),
    "generate one with `openssl rand -base64 32`, or listen on 127.0.0.1",
  );
}
