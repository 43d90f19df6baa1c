import type { RotateResponse } from "@vwksp/protocol";

/** The agent's answer to a credential rotation: the new credential and its expiry, if any. */
export function toRotateResponse(issued: { token: string; expiresAt: Date | null }): RotateResponse {
  return {
    token: issued.token,
    ...(issued.expiresAt ? { expiresAt: issued.expiresAt.toISOString() } : {}),
  };
}
