import { RegisterResponse } from "@vwksp/protocol";
import { ProtocolError } from "../errors.ts";
import { agentRequest, type Fetch, REGISTER_TIMEOUT_MS } from "./http.ts";

export interface RegisterInput {
  baseUrl: string;
  registrationToken: string;
  clusterId?: string | undefined;
  displayName?: string | undefined;
}

/** Exchanges a one-time registration token for the agent's long-lived credential. */
export async function exchangeRegistrationToken(
  input: RegisterInput,
  fetchImpl?: Fetch,
): Promise<RegisterResponse> {
  const response = await agentRequest(
    input.baseUrl,
    {
      method: "POST",
      path: "/api/agent/register",
      // The header carries the token and the body repeats it, as the Go operator does.
      token: input.registrationToken,
      body: {
        registrationToken: input.registrationToken,
        ...(input.clusterId ? { clusterId: input.clusterId } : {}),
        ...(input.displayName ? { displayName: input.displayName } : {}),
      },
      timeoutMs: REGISTER_TIMEOUT_MS,
    },
    fetchImpl,
  );
  if (response.status !== 200) throw new ProtocolError(`register: expected HTTP 200, got ${response.status}`);
  const parsed = RegisterResponse.safeParse(response.json);
  if (!parsed.success || !parsed.data.clusterId.trim() || !parsed.data.token.trim()) {
    throw new ProtocolError("register: the answer misses clusterId or token");
  }
  return { ...parsed.data, clusterId: parsed.data.clusterId.trim(), token: parsed.data.token.trim() };
}
