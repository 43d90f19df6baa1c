import dns from "node:dns";
import { BlockList, isIP } from "node:net";

/**
 * Where outbound webhooks may not go (SSRF): loopback, private, link-local, unique-local,
 * carrier-grade NAT, multicast and reserved ranges, unless WEBHOOKS_ALLOW_PRIVATE=true.
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 3],
] as const)
  blocked.addSubnet(net, prefix, "ipv4");
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
  ["64:ff9b::", 96],
] as const)
  blocked.addSubnet(net, prefix, "ipv6");

/** True when `address` (an IP literal) is one webhooks may not reach. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, "");
  const family = isIP(bare);
  if (family === 4) return blocked.check(bare, "ipv4");
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped?.[1]) return blocked.check(mapped[1], "ipv4");
  return blocked.check(bare, "ipv6");
}

export class PrivateAddressError extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(
      `${host} resolves to ${address}, a loopback or private address (set WEBHOOKS_ALLOW_PRIVATE=true to allow)`,
    );
  }
}

/** Resolves `host` and refuses it when any of its addresses is private. */
export async function checkHost(host: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const bare = host.replace(/^\[|\]$/g, "");
  if (isIP(bare)) {
    if (isPrivateAddress(bare)) throw new PrivateAddressError(host, bare);
    return;
  }
  const addresses = await dns.promises.lookup(bare, { all: true });
  for (const { address } of addresses)
    if (isPrivateAddress(address)) throw new PrivateAddressError(host, address);
}

/**
 * A `lookup` for http.request that refuses private addresses at connection time, so a name that
 * resolved to a public address at creation cannot be rebound to a private one (DNS rebinding).
 */
export function guardedLookup(allowPrivate: boolean): typeof dns.lookup {
  return ((hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error);
      const list = addresses as dns.LookupAddress[];
      if (!allowPrivate) {
        const bad = list.find((entry) => isPrivateAddress(entry.address));
        if (bad) return callback(new PrivateAddressError(hostname, bad.address));
      }
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`${hostname} has no address`));
      callback(null, first.address, first.family);
    });
  }) as unknown as typeof dns.lookup;
}
