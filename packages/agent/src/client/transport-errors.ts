/**
 * A request that got no HTTP answer, told as a person can act on it: which server, what
 * happened, and the likely cause (a wrong port, http:// against a TLS port, an untrusted
 * certificate) — rather than undici's bare "fetch failed" / ECONNREFUSED.
 */
export function describeTransportFailure(url: string, error: unknown): string {
  const { code, message } = rootCause(error);
  const target = origin(url);
  const scheme = target.startsWith("https:") ? "https" : "http";
  const hint = HINTS[code] ?? certificateHint(code) ?? socketHint(code, scheme);
  return `cannot reach the control plane at ${target} (${code || message})${hint ? `: ${hint}` : ""}`;
}

const HINTS: Record<string, string> = {
  ECONNREFUSED: "nothing listens there; check the port and that the control plane is running",
  ENOTFOUND: "the host name does not resolve; check its spelling and the cluster's DNS",
  EAI_AGAIN: "the host name could not be resolved right now (DNS); check the cluster's DNS",
  EHOSTUNREACH: "no route to that host; check the address and the network policy",
  ENETUNREACH: "no route to that network; check the address and the network policy",
  ETIMEDOUT: "no answer in time; a firewall or a wrong address is likely",
  UND_ERR_CONNECT_TIMEOUT: "no answer in time; a firewall or a wrong address is likely",
  ERR_SSL_WRONG_VERSION_NUMBER:
    "the server there does not speak TLS; use http:// for that port, or the port of the HTTPS endpoint",
  ERR_SSL_PACKET_LENGTH_TOO_LONG:
    "the server there does not speak TLS; use http:// for that port, or the port of the HTTPS endpoint",
};

function certificateHint(code: string): string | undefined {
  if (!/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME/.test(code)) return undefined;
  return "the server's TLS certificate is not trusted here; give its CA with NODE_EXTRA_CA_CERTS, or check the host name";
}

function socketHint(code: string, scheme: string): string | undefined {
  if (!/ECONNRESET|UND_ERR_SOCKET|EPIPE/.test(code)) return undefined;
  return scheme === "http"
    ? "the connection was closed without an answer; if that port serves HTTPS, use https://"
    : "the connection was closed without an answer; check the port and any proxy in between";
}

/** undici hides the useful part in `cause` (an AggregateError holds one error per address). */
function rootCause(error: unknown): { code: string; message: string } {
  let current: unknown = error;
  for (let depth = 0; depth < 5; depth++) {
    const next = (current as { cause?: unknown } | null)?.cause;
    if (next === undefined || next === null) break;
    current = next;
  }
  const errors = (current as { errors?: unknown[] } | null)?.errors;
  const detail = Array.isArray(errors) && errors.length > 0 ? errors[0] : current;
  const code = String(
    (current as { code?: unknown } | null)?.code ?? (detail as { code?: unknown } | null)?.code ?? "",
  );
  const message = ((detail as Error | null)?.message ?? String(detail)).split("\n")[0] ?? "";
  return { code, message };
}

function origin(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return url;
  }
}
