// Tests start services the way `pnpm demo` does.
export * from "../../scripts/lib/processes.ts";
