import type { IncomingHttpHeaders } from "node:http";
import { request } from "node:https";

interface RawAnswer {
  code: number;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** A plain HTTPS GET trusting only the given CA (or the system's), with the answer's headers. */
export function rawRequest(url: string, options: { ca?: string; token?: string }) {
  return new Promise<RawAnswer>((resolve, reject) => {
    const headers = options.token ? { authorization: `Bearer ${options.token}` } : {};
    const call = request(url, { ca: options.ca, headers }, (response) => {
      let text = "";
      response.on("data", (chunk) => {
        text += chunk;
      });
      response.on("end", () =>
        resolve({ code: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(text) }),
      );
    });
    call.on("error", reject);
    call.end();
  });
}

/** The code and body of a plain HTTPS GET, for answers typed clients drop. */
export const rawGet = async (url: string, options: { ca?: string; token?: string }) => {
  const { code, body } = await rawRequest(url, options);
  return { code, body };
};
