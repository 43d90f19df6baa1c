export * from "./admin/clusters.ts";
export * from "./agent.ts";
export * from "./common.ts";
export * from "./tokens.ts";
