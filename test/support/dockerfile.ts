import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

// Reading a Dockerfile and a .dockerignore without a Docker engine: the static checks of
// apps/api/test/compose.test.ts and the rebuilt runtime stage of apps/api/test/image-runtime.test.ts.

export interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions in order, line continuations joined, comments dropped. */
export function dockerfileInstructions(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = "";
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (pending === "" && (trimmed === "" || trimmed.startsWith("#"))) continue;
    if (pending !== "" && trimmed.startsWith("#")) continue;
    if (trimmed.endsWith("\\")) {
      pending += `${trimmed.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + trimmed);
    pending = "";
  }
  if (pending.trim() !== "") logical.push(pending);
  return logical.map((line) => {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    return { keyword: (match?.[1] ?? "").toUpperCase(), args: match?.[2] ?? "" };
  });
}

/** A COPY's sources (JSON or shell form), or null for COPY --from (files of another stage). */
export function copySources(args: string): string[] | null {
  const tokens: string[] = [];
  let rest = args.trim();
  while (rest.startsWith("--")) {
    const [flag = "", ...others] = rest.split(/\s+/);
    if (flag.startsWith("--from")) return null;
    rest = others.join(" ");
  }
  if (rest.startsWith("[")) tokens.push(...(JSON.parse(rest) as string[]));
  else tokens.push(...rest.split(/\s+/));
  return tokens.slice(0, -1);
}

/** .dockerignore patterns as matchers (Docker semantics: a match excludes the path and what is under it). */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const negate = line.startsWith("!");
      const pattern = (negate ? line.slice(1) : line).replace(/^\/+|\/+$/g, "");
      const source = pattern
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) => {
          if (part === "**/") return "(?:.*/)?";
          if (part === "**") return ".*";
          if (part === "*") return "[^/]*";
          if (part === "?") return "[^/]";
          return part.replace(/[.+^${}()|[\]\\]/g, "\\$&");
        })
        .join("");
      return { negate, regex: new RegExp(`^${source}$`) };
    });
  return (path: string) => {
    const parts = path.replace(/^\.\/|\/$/g, "").split("/");
    let excluded = false;
    for (const rule of rules) {
      for (let i = 1; i <= parts.length; i++) {
        if (rule.regex.test(parts.slice(0, i).join("/"))) {
          excluded = !rule.negate;
          break;
        }
      }
    }
    return excluded;
  };
}

export interface Stage {
  name: string;
  /** The image or earlier stage it starts from, with ARG defaults filled in. */
  from: string;
  instructions: Instruction[];
}

/** The stages in order, `FROM ${ARG}` resolved with the ARG defaults declared before the first FROM. */
export function dockerfileStages(text: string): Stage[] {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of dockerfileInstructions(text)) {
    if (instruction.keyword === "ARG" && stages.length === 0) {
      const [name = "", value = ""] = instruction.args.split("=");
      args[name.trim()] = value.trim();
      continue;
    }
    if (instruction.keyword === "FROM") {
      const [image = "", , alias] = instruction.args.split(/\s+/);
      const from = image.replace(/\$\{(\w+)\}/g, (_match, name: string) => args[name] ?? "");
      stages.push({ name: alias ?? String(stages.length), from, instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

/** `COPY --from=STAGE SRC… DEST` as {from, sources, dest}; null for a COPY from the build context. */
export function copyFromStage(args: string): { from: string; sources: string[]; dest: string } | null {
  const match = /^--from=(\S+)\s+(.*)$/.exec(args.trim());
  if (!match?.[1] || !match[2]) return null;
  const paths = match[2].split(/\s+/);
  return { from: match[1], sources: paths.slice(0, -1), dest: paths.at(-1) ?? "" };
}

/** The manifests of every workspace package (apps/*, packages/*, tools/*). */
export function workspaceManifests(root: string): string[] {
  const manifests: string[] = [];
  for (const group of ["apps", "packages", "tools"]) {
    for (const entry of readdirSync(join(root, group), { withFileTypes: true })) {
      const manifest = `${group}/${entry.name}/package.json`;
      if (entry.isDirectory() && existsSync(join(root, manifest))) manifests.push(manifest);
    }
  }
  return manifests;
}
