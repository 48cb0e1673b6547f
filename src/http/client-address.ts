/**
 * The client's address, as Cloudflare saw it: `CF-Connecting-IP`, which Cloudflare sets on every
 * request it proxies (a client cannot choose it there). Validated and normalised (IPv6 lower-case
 * and compressed as given, IPv4-mapped IPv6 as plain IPv4); null without the header or with
 * anything in it that is not an address.
 */
export function clientAddress(headers: Headers): string | null {
  return parseAddress(headers.get("cf-connecting-ip"));
}

/** An IPv4 or IPv6 address, validated and normalised as clientAddress does; null if it is not one. */
export function parseAddress(value: string | null | undefined): string | null {
  const raw = value?.trim().toLowerCase();
  if (!raw) return null;
  if (isIpv4(raw)) return raw;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(raw);
  if (mapped && isIpv4(mapped[1]!)) return mapped[1]!;
  return ipv6Groups(raw) ? raw : null;
}

/**
 * The group a client's failures are counted in. An IPv6 client usually owns a whole /64 and can
 * pick a fresh address per request, so IPv6 addresses are grouped by their /64; IPv4 counts per
 * address. Without an address everyone shares one bucket: a made-up value must not buy a fresh budget.
 */
export function addressBucket(address: string | null): string {
  if (address === null) return "unknown";
  if (isIpv4(address)) return address;
  const network = ipv6Groups(address)!.slice(0, 4);
  return `${network.map((group) => parseInt(group, 16).toString(16)).join(":")}::/64`;
}

function isIpv4(value: string): boolean {
  const parts = value.split(".");
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}

/** The eight groups of an IPv6 address (a dotted IPv4 tail stands for two); null if it is not one. */
function ipv6Groups(address: string): string[] | null {
  const halves = address.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const last = tail.at(-1) ?? (halves.length === 1 ? head.at(-1) : undefined);
  const dotted = last?.includes(".") ? last : null;
  if (dotted !== null && !isIpv4(dotted)) return null;
  const headGroups = halves.length === 1 && dotted ? head.slice(0, -1) : head;
  const tailGroups = dotted && halves.length === 2 ? tail.slice(0, -1) : tail;
  const extra = dotted ? 2 : 0;
  const missing = 8 - headGroups.length - tailGroups.length - extra;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const full = [...headGroups, ...Array<string>(Math.max(0, missing)).fill("0"), ...tailGroups];
  if (!full.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return null;
  return dotted ? [...full, "0", "0"] : full;
}
