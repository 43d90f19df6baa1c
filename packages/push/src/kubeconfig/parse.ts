import { parse, YAMLParseError } from "yaml";
import { refuse } from "./refusal.ts";

/** A kubeconfig is a few kilobytes; anything this large is not one. */
export const MAX_KUBECONFIG_BYTES = 256 * 1024;

export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * YAML or JSON (JSON is YAML 1.2) into an object. Parser messages are never passed on: YAML's
 * quote the offending line and V8's JSON messages quote the input, which may be the token.
 */
export function parseKubeconfigText(input: string | Json): Json {
  if (isObject(input)) return input;
  if (typeof input !== "string") throw refuse("InvalidFormat", "the kubeconfig must be YAML or JSON text");
  if (Buffer.byteLength(input) > MAX_KUBECONFIG_BYTES) {
    throw refuse("InvalidFormat", `the kubeconfig is larger than ${MAX_KUBECONFIG_BYTES / 1024} KiB`);
  }
  let document: unknown;
  try {
    document = parse(input, { uniqueKeys: true, maxAliasCount: 50 });
  } catch (error) {
    const where =
      error instanceof YAMLParseError && error.linePos
        ? ` (line ${error.linePos[0].line}, column ${error.linePos[0].col})`
        : "";
    throw refuse("InvalidFormat", `the kubeconfig is not valid YAML or JSON${where}`);
  }
  if (!isObject(document)) throw refuse("InvalidFormat", "the kubeconfig is not a YAML or JSON object");
  if (document.kind !== undefined && document.kind !== "Config") {
    throw refuse("InvalidFormat", 'a kubeconfig has kind "Config"', "kind");
  }
  return document;
}
