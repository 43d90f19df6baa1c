import type { TrustProxy } from "@vwksp/core";

type TrustFunction = (address: string, hop: number) => boolean;

/**
 * Fastify's `trustProxy` for the TRUST_PROXY setting. proxy-addr walks X-Forwarded-For from the
 * socket leftwards and stops at the first hop it does not trust, so `request.ip` is the
 * right-most untrusted entry: a client can prepend whatever it likes, never replace what the
 * proxies appended. A count is given as a function because Fastify 5 refuses to honour a bare
 * number (it cannot vouch for the immediate peer); that is the operator's call to make: a count
 * suits a service only its ingress can reach, a CIDR list also holds when it is reachable directly.
 */
export function trustProxyOption(setting: TrustProxy): false | string[] | TrustFunction {
  if (setting === false || Array.isArray(setting)) return setting;
  const hops = setting;
  return (_address, hop) => hop < hops;
}
