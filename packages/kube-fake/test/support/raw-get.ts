import { request } from "node:https";

/** A plain HTTPS GET trusting only the given CA (or the system's), for answers typed clients drop. */
export function rawGet(url: string, options: { ca?: string; token?: string }) {
  return new Promise<{ code: number; body: Record<string, unknown> }>((resolve, reject) => {
    const headers = options.token ? { authorization: `Bearer ${options.token}` } : {};
    const call = request(url, { ca: options.ca, headers }, (response) => {
      let text = "";
      response.on("data", (chunk) => {
        text += chunk;
      });
      response.on("end", () => resolve({ code: response.statusCode ?? 0, body: JSON.parse(text) }));
    });
    call.on("error", reject);
    call.end();
  });
}
