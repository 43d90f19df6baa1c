import { isIP } from "node:net";
import { z } from "zod";

/**
 * Which hops in front of the API may set `X-Forwarded-For`: none (`false`), the last `n` hops
 * (a count), or the hops whose addresses fall in these ranges (a list). The client address is
 * then the right-most entry no trusted hop added; entries left of it are the client's to choose.
 */
export type TrustProxy = false | number | string[];

/** proxy-addr's names for the private ranges, accepted as they are. */
const NAMED_RANGES = new Set(["loopback", "linklocal", "uniquelocal"]);

function isAddressOrRange(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const [address = "", prefix, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

const MAX_HOPS = 10;

/** `false`, `true` (= 1 hop), a hop count, or a comma-separated list of addresses / CIDR ranges. */
export const TrustProxySetting = z
  .string()
  .trim()
  .default("false")
  .transform((value, context): TrustProxy => {
    if (value === "false" || value === "") return false;
    // `true` used to trust the whole header (its left-most, client-chosen entry); it now means the
    // usual single ingress, which is what it was set for.
    if (value === "true") return 1;
    if (/^\d+$/.test(value)) {
      const hops = Number(value);
      if (hops >= 1 && hops <= MAX_HOPS) return hops;
    } else {
      const entries = value
        .split(",")
        .map((entry) => entry.trim())
        .filter(Boolean);
      if (entries.length > 0 && entries.every(isAddressOrRange)) return entries;
    }
    context.addIssue({
      code: "custom",
      message: `must be false, a hop count 1…${MAX_HOPS}, or a comma-separated list of proxy addresses / CIDR ranges (e.g. 10.0.0.0/8,loopback)`,
    });
    return z.NEVER;
  });
