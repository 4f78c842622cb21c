import { lookup } from "node:dns/promises";
import { isIP, isIPv4, isIPv6 } from "node:net";
import { InvalidArgumentError } from "../errors.js";

/** Resolves a host name to all its addresses (`dns.lookup` with `all: true` by default). */
export type LookupAll = (hostname: string) => Promise<readonly { readonly address: string }[]>;

/** Where the dashboard listens, resolved once. */
export interface ListenAddress {
  /** The host as given (a name or an address; brackets removed). */
  readonly host: string;
  /** The address bound to: the host itself when it is an address, else its first resolved address. */
  readonly address: string;
  /** True when every address the host resolved to is a loopback address. */
  readonly loopback: boolean;
  /** True for `0.0.0.0` and `::`: every interface of the machine. */
  readonly wildcard: boolean;
}

function unbracket(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
}

/** True for loopback IP addresses: `127.0.0.0/8` and `::1` (also IPv4-mapped). Names are never loopback by themselves. */
export function isLoopbackAddress(address: string): boolean {
  const h = unbracket(address);
  if (isIPv4(h)) return h.startsWith("127.");
  if (!isIPv6(h)) return false;
  if (h === "::1" || /^(0{1,4}:){7}0{0,3}1$/.test(h)) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)?.[1];
  return mapped !== undefined && mapped.startsWith("127.");
}

/** True for the unspecified addresses `0.0.0.0` and `::` (listening on every interface). */
export function isWildcardAddress(address: string): boolean {
  const h = unbracket(address);
  return h === "0.0.0.0" || (isIPv6(h) && /^[0:]+$/.test(h));
}

const lookupAll: LookupAll = (hostname) => lookup(hostname, { all: true });

/**
 * Resolves the host to listen on. A name counts as loopback only when every
 * address it resolves to is a loopback address (`dash.localhost` is not
 * loopback by its name: a resolver may answer anything), and the server then
 * binds to the resolved address, so the name cannot resolve differently
 * between this check and the bind.
 * @throws InvalidArgumentError when the name does not resolve.
 */
export async function resolveListenHost(
  host: string,
  resolve: LookupAll = lookupAll,
): Promise<ListenAddress> {
  const given = unbracket(host);
  if (isIP(given) !== 0) {
    return {
      host: given,
      address: given,
      loopback: isLoopbackAddress(given),
      wildcard: isWildcardAddress(given),
    };
  }
  let addresses: readonly { readonly address: string }[];
  try {
    addresses = await resolve(given);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    throw new InvalidArgumentError(
      "options.host",
      "an IP address, or a host name that resolves",
      host,
      `looking ${given} up failed${typeof code === "string" ? ` (${code})` : ""}`,
    );
  }
  const first = addresses[0]?.address;
  if (first === undefined)
    throw new InvalidArgumentError("options.host", "a host name with an address", host);
  return {
    host: given,
    address: first,
    loopback: addresses.every((entry) => isLoopbackAddress(entry.address)),
    wildcard: isWildcardAddress(first),
  };
}
