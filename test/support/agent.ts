import { AGENT_MEDIA_TYPE } from "../../packages/protocol/src/index.ts";

/** Exactly the headers the Go operator sends (Content-Type only when there is a body). */
export function agentHeaders(token: string, withBody = true): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    accept: AGENT_MEDIA_TYPE,
    ...(withBody ? { "content-type": AGENT_MEDIA_TYPE } : {}),
  };
}

export const adminHeaders = (key: string) => ({ authorization: `Bearer ${key}` });
