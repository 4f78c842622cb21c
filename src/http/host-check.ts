import type { ServerResponse } from "node:http";
import { isIPv4, isIPv6 } from "node:net";
import { InvalidArgumentError } from "../errors.js";
import { isLoopbackAddress, type ListenAddress } from "./listen-address.js";
import { sendText } from "./responses.js";

const LABEL = "[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?";
const NAME = new RegExp(`^\\.?${LABEL}(?:\\.${LABEL})*$`);
/** `name[:port]` or `[ipv6][:port]`. */
const HOST_HEADER = /^(?:\[([0-9a-f:.]+)\]|([^\s:/?#@[\]\\]+))(?::\d{0,5})?$/i;

/** An IPv6 address in its canonical (compressed, lower-case) form; anything else as is. */
function canonicalIp(address: string): string {
  if (!isIPv6(address)) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
}

/**
 * Checks a name for {@link HostCheck}'s allowed list: a host name, the same
 * with a leading dot (the name and all its subdomains), or an IP address
 * (IPv6 with or without brackets). No port, no scheme. Returns it lower-case,
 * without brackets or a trailing dot.
 * @throws InvalidArgumentError naming `argument`.
 */
export function normalizeAllowedHost(name: string, argument: string): string {
  const text = typeof name === "string" ? name.trim().toLowerCase() : "";
  const bare = text.replace(/^\[(.*)\]$/, "$1").replace(/(?<=.)\.$/, "");
  if (isIPv4(bare) || isIPv6(bare)) return canonicalIp(bare);
  if (NAME.test(bare) && bare.length <= 254) return bare;
  throw new InvalidArgumentError(
    argument,
    "a host name (dash.example.com), a name with a leading dot for it and its subdomains " +
      "(.example.com), or an IP address; without scheme or port",
    name,
  );
}

/**
 * Decides whether a request's `Host` header names this server, against DNS
 * rebinding: a page of another site whose name an attacker points at this
 * machine reaches the dashboard with that name in `Host`. Allowed:
 *
 * - `localhost`, and loopback addresses (`127.0.0.0/8`, `[::1]`);
 * - the host the server was told to listen on (name or address), and the address it bound to;
 * - any IP address when it listens on every interface (`0.0.0.0`, `::`);
 * - the names of `allowedHosts` (`.example.com` allows example.com and its subdomains).
 *
 * The port is not compared: a rebinding page always names a host of its own,
 * and ports differ legitimately (SSH tunnels, proxies). A request without a
 * Host header is refused.
 */
export class HostCheck {
  readonly #names = new Set<string>(["localhost"]);
  readonly #suffixes: string[] = [];
  readonly #addresses = new Set<string>();
  readonly #anyAddress: boolean;

  constructor(listen: ListenAddress, allowedHosts: readonly string[] = []) {
    this.#anyAddress = listen.wildcard;
    for (const entry of [listen.host, listen.address, ...allowedHosts]) {
      const name = normalizeAllowedHost(entry, "allowedHosts");
      if (isIPv4(name) || isIPv6(name)) this.#addresses.add(name);
      else if (name.startsWith(".")) this.#suffixes.push(name);
      else this.#names.add(name);
    }
  }

  /** True when `hostHeader` names this server. */
  allows(hostHeader: string | undefined): boolean {
    const match = HOST_HEADER.exec(hostHeader?.trim() ?? "");
    if (match === null) return false;
    const ipv6 = match[1];
    if (ipv6 !== undefined)
      return isIPv6(ipv6) && this.#allowsAddress(canonicalIp(ipv6.toLowerCase()));
    const name = (match[2] ?? "").toLowerCase().replace(/(?<=.)\.$/, "");
    if (isIPv4(name)) return this.#allowsAddress(name);
    return (
      this.#names.has(name) ||
      this.#suffixes.some((suffix) => name.endsWith(suffix) || name === suffix.slice(1))
    );
  }

  #allowsAddress(address: string): boolean {
    return this.#anyAddress || isLoopbackAddress(address) || this.#addresses.has(address);
  }
}

/** Answers 421 Misdirected Request to a request whose Host is not allowed. */
export function refuseMisdirected(response: ServerResponse): void {
  sendText(
    response,
    421,
    "text/plain; charset=utf-8",
    "This server does not answer to the host named in the Host header " +
      "(allow it with --http-allowed-host if it is yours).\n",
  );
}
