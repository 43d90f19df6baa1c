import http from "node:http";
import https from "node:https";
import { Webhook } from "standardwebhooks";
import { checkHost, guardedLookup } from "./address-policy.ts";

export interface SendInput {
  url: string;
  secret: string;
  messageId: string;
  timestamp: Date;
  body: string;
  timeoutMs: number;
  allowPrivate: boolean;
}

export interface SendResult {
  ok: boolean;
  statusCode?: number;
  error?: string;
}

/** The Standard Webhooks headers of one message (v1: HMAC-SHA256 of `id.timestamp.body`). */
export function signedHeaders(secret: string, messageId: string, timestamp: Date, body: string) {
  return {
    "webhook-id": messageId,
    "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(messageId, timestamp, body),
  };
}

/** POSTs one signed message; 2xx is delivered, anything else (or no answer in time) is not. */
export async function sendWebhook(input: SendInput): Promise<SendResult> {
  let url: URL;
  try {
    url = new URL(input.url);
    // IP literals never reach `lookup`: checked here; names are checked as they are resolved.
    await checkHost(url.hostname, input.allowPrivate);
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  const transport = url.protocol === "https:" ? https : http;
  return new Promise<SendResult>((resolve) => {
    const request = transport.request(
      url,
      {
        method: "POST",
        lookup: guardedLookup(input.allowPrivate),
        timeout: input.timeoutMs,
        headers: {
          "content-type": "application/json",
          "user-agent": "vworkspace-webhooks/1",
          ...signedHeaders(input.secret, input.messageId, input.timestamp, input.body),
        },
      },
      (response) => {
        response.resume();
        const statusCode = response.statusCode ?? 0;
        const ok = statusCode >= 200 && statusCode < 300;
        response.on("end", () =>
          resolve(ok ? { ok, statusCode } : { ok, statusCode, error: `HTTP ${statusCode}` }),
        );
        response.on("error", (error) => resolve({ ok: false, statusCode, error: error.message }));
      },
    );
    request.on("timeout", () => request.destroy(new Error(`no answer within ${input.timeoutMs} ms`)));
    request.on("error", (error) => resolve({ ok: false, error: error.message }));
    request.end(input.body);
  });
}
