import { isIPv6 } from "node:net";

/**
 * The key under which a remote address is counted by the connection and
 * failure limits: an IPv4 address as is (also when IPv4-mapped, `::ffff:a.b.c.d`),
 * an IPv6 address by its /64 prefix (one subscriber usually holds a whole /64,
 * so counting single IPv6 addresses would let one client take many slots).
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined || address === "") return "unknown";
  const text = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (mapped !== undefined) return mapped;
  if (!isIPv6(text)) return text;
  const [head = "", tail = ""] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  const groups = text.includes("::")
    ? [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right]
    : left;
  const prefix = groups.slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16));
  return `${prefix.join(":")}::/64`;
}
