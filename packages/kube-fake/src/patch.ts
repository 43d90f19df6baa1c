import { unprocessable } from "./status.ts";
import { isPlainObject, type Json } from "./types.ts";

/** RFC 7386 JSON merge patch: maps merge, null deletes, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const result: Json = isPlainObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

const decodePointer = (pointer: string) =>
  pointer
    .split("/")
    .slice(1)
    .map((token) => token.replace(/~1/g, "/").replace(/~0/g, "~"));

/** The container a pointer addresses and the last token in it. */
function locate(document: unknown, pointer: string): [Json | unknown[], string] {
  const tokens = decodePointer(pointer);
  const last = tokens.pop();
  let current = document;
  for (const token of tokens) {
    current = Array.isArray(current)
      ? current[Number(token)]
      : isPlainObject(current)
        ? current[token]
        : undefined;
    if (current === undefined) throw unprocessable(`doc is missing path: "${pointer}": missing value`);
  }
  if (last === undefined || !(isPlainObject(current) || Array.isArray(current))) {
    throw unprocessable(`doc is missing path: "${pointer}": missing value`);
  }
  return [current, last];
}

function read(document: unknown, pointer: string): unknown {
  const [container, token] = locate(document, pointer);
  const value = Array.isArray(container) ? container[Number(token)] : container[token];
  if (value === undefined) throw unprocessable(`doc is missing key: ${pointer}: missing value`);
  return value;
}

function remove(document: unknown, pointer: string) {
  const [container, token] = locate(document, pointer);
  read(document, pointer);
  if (Array.isArray(container)) container.splice(Number(token), 1);
  else delete container[token];
}

function add(document: unknown, pointer: string, value: unknown) {
  const [container, token] = locate(document, pointer);
  if (!Array.isArray(container)) container[token] = structuredClone(value);
  else if (token === "-") container.push(structuredClone(value));
  else container.splice(Number(token), 0, structuredClone(value));
}

/** RFC 6902 JSON patch (add, remove, replace, move, copy, test). */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations))
    throw unprocessable("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  const document = { root: structuredClone(target) };
  const at = (pointer: string) => `/root${pointer}`;
  for (const operation of operations as Operation[]) {
    switch (operation.op) {
      case "add":
        add(document, at(operation.path), operation.value);
        break;
      case "remove":
        remove(document, at(operation.path));
        break;
      case "replace":
        remove(document, at(operation.path));
        add(document, at(operation.path), operation.value);
        break;
      case "move":
      case "copy": {
        const value = read(document, at(operation.from ?? ""));
        if (operation.op === "move") remove(document, at(operation.from ?? ""));
        add(document, at(operation.path), value);
        break;
      }
      case "test":
        if (JSON.stringify(read(document, at(operation.path))) !== JSON.stringify(operation.value)) {
          throw unprocessable(`testing value ${operation.path} failed: test failed`);
        }
        break;
      default:
        throw unprocessable(`Unexpected kind: ${operation.op}`);
    }
  }
  return document.root;
}
