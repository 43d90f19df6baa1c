import { parseArgs } from "node:util";
import { UsageError } from "./common.ts";

/**
 * Every flag of every command, with the environment variable that stands in for it (as runner
 * agents do: a Deployment sets env, a person types flags). A flag given wins over its variable,
 * the variable over the default. `--help` shows all three.
 */
export interface FlagSpec {
  type: "string" | "boolean";
  /** `VWKSP_…`, read when the flag is not given. */
  env: string;
  /** What the value looks like in the usage line (`URL`, `PATH`, `30s`). */
  placeholder?: string;
  default?: string;
  description: string;
}

export type FlagSpecs = Record<string, FlagSpec>;
export type FlagValues<S extends FlagSpecs> = {
  [K in keyof S]: S[K]["type"] extends "boolean" ? boolean : string | undefined;
};

/** The environment variable a flag reads: `--state-dir` → `VWKSP_STATE_DIR`. */
export const envName = (flag: string) => `VWKSP_${flag.toUpperCase().replaceAll("-", "_")}`;

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["", "0", "false", "no", "off"]);

/** Parses `args` strictly, then fills what is missing from `env`, then from the defaults. */
export function parseFlags<S extends FlagSpecs>(
  args: string[],
  specs: S,
  env: Record<string, string | undefined>,
): { values: FlagValues<S>; help: boolean } {
  const options = Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [name, { type: spec.type }]),
  ) as Record<string, { type: "string" | "boolean" }>;
  const { values } = parseArgs({
    args,
    strict: true,
    options: { ...options, help: { type: "boolean", short: "h" } },
  }) as { values: Record<string, string | boolean | undefined> };
  const out: Record<string, string | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const given = values[name];
    const fromEnv = env[spec.env];
    if (spec.type === "boolean") {
      if (given !== undefined) out[name] = given === true;
      else if (fromEnv !== undefined) out[name] = envBoolean(spec.env, fromEnv);
      else out[name] = spec.default === "true";
    } else {
      out[name] = (given as string | undefined) ?? (fromEnv?.trim() || undefined) ?? spec.default;
    }
  }
  return { values: out as FlagValues<S>, help: values.help === true };
}

function envBoolean(variable: string, value: string): boolean {
  const word = value.trim().toLowerCase();
  if (TRUE.has(word)) return true;
  if (FALSE.has(word)) return false;
  throw new UsageError(`$${variable} must be true or false, got "${value}"`);
}

/** The help text of a command: synopsis, then one block per flag with its variable and default. */
export function commandHelp(synopsis: string, specs: FlagSpecs, notes: string): string {
  const lines = [
    `usage: ${synopsis}`,
    "",
    notes,
    "",
    "flags (each also read from the environment variable shown):",
  ];
  for (const [name, spec] of Object.entries(specs)) {
    const flag = spec.type === "boolean" ? `--${name}` : `--${name} ${spec.placeholder ?? "VALUE"}`;
    const details = [`$${spec.env}`, ...(spec.default !== undefined ? [`default ${spec.default}`] : [])];
    lines.push(`  ${flag}`, `      ${spec.description} (${details.join(", ")})`);
  }
  lines.push("  -h, --help", "      this text");
  return lines.join("\n");
}
