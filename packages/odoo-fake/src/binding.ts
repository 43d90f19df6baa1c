import { fault, OdooFault } from "./faults.ts";
import type { MethodSpec } from "./methods.ts";

/** `execute_kw` binding: ids first for record methods, then positional, then keywords. */
export function bindPositional(
  spec: MethodSpec,
  method: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
) {
  const owner = `BaseModel.${method}()`;
  const rest = [...args];
  let ids: number[] = [];
  if (spec.onRecords) {
    if (rest.length === 0) throw new OdooFault("builtins.IndexError", "list index out of range");
    const first = rest.shift();
    ids = Array.isArray(first) ? (first as number[]) : [first as number];
  }
  if (rest.length > spec.params.length) {
    const max = spec.params.length + 1;
    throw fault.typeError(`${owner} takes ${max} positional arguments but ${rest.length + 1} were given`);
  }
  const bound: Record<string, unknown> = {};
  rest.forEach((value, index) => {
    bound[spec.params[index]?.name ?? ""] = value;
  });
  for (const [name, value] of Object.entries(kwargs)) {
    if (!spec.params.some((param) => param.name === name)) {
      throw fault.typeError(`${owner} got an unexpected keyword argument '${name}'`);
    }
    if (name in bound) throw fault.typeError(`${owner} got multiple values for argument '${name}'`);
    bound[name] = value;
  }
  const missing = spec.params.find((param) => param.required && !(param.name in bound));
  if (missing) throw fault.typeError(`${owner} missing 1 required positional argument: '${missing.name}'`);
  return { ids, bound };
}

/** JSON-2 binding: everything named; signature errors are 422s (inspect.signature.bind). */
export function bindNamed(
  spec: MethodSpec,
  model: string,
  method: string,
  ids: unknown,
  named: Record<string, unknown>,
) {
  const hasIds = Array.isArray(ids) && ids.length > 0;
  if (!spec.onRecords && hasIds) throw fault.http(422, `cannot call ${model}.${method} with ids`);
  for (const name of Object.keys(named)) {
    if (!spec.params.some((param) => param.name === name)) {
      throw fault.http(422, `got an unexpected keyword argument '${name}'`);
    }
  }
  const missing = spec.params.find((param) => param.required && !(param.name in named));
  if (missing) throw fault.http(422, `missing a required argument: '${missing.name}'`);
  return { ids: Array.isArray(ids) ? (ids as number[]) : [], bound: named };
}
