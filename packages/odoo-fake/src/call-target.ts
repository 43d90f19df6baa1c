/**
 * What a request asked Odoo for, as `service.method` (`common.version`) or `model.method`
 * (`vws.cluster.write`), whichever transport carried it; undefined for anything unparsable.
 */
export function callTarget(path: string, body: string): string | undefined {
  const json2 = /^\/json\/2\/([^/]+)\/([^/]+)$/.exec(path);
  if (json2) return `${decodeURIComponent(json2[1] ?? "")}.${decodeURIComponent(json2[2] ?? "")}`;
  let params: Record<string, unknown>;
  try {
    const parsed = JSON.parse(body) as { params?: Record<string, unknown> };
    params = parsed.params ?? {};
  } catch {
    return undefined;
  }
  if (path.startsWith("/web/dataset/call_kw")) return `${String(params.model)}.${String(params.method)}`;
  if (path !== "/jsonrpc") return undefined;
  const args = Array.isArray(params.args) ? params.args : [];
  if (params.service === "object" && params.method === "execute_kw")
    return `${String(args[3])}.${String(args[4])}`;
  return `${String(params.service)}.${String(params.method)}`;
}
