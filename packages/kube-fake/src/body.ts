import { parse as parseYaml } from "yaml";
import { badRequest } from "./status.ts";

/** The request body as the API server decodes it: YAML for apply patches (JSON is YAML), else JSON. */
export function decodeBody(text: string, contentType: string | undefined): unknown {
  if (text.trim() === "") return undefined;
  try {
    return contentType?.startsWith("application/apply-patch+yaml") ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw badRequest(
      `error decoding request body: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** For the request log: the same decoding, undefined when it fails. */
export function tryDecodeBody(text: string, contentType: string | undefined): unknown {
  try {
    return decodeBody(text, contentType);
  } catch {
    return undefined;
  }
}
