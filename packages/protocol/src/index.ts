export * from "./admin/catalog.ts";
export * from "./admin/clusters.ts";
export * from "./admin/jobs.ts";
export * from "./admin/observability.ts";
export * from "./agent.ts";
export * from "./canonical-json.ts";
export * from "./common.ts";
export * from "./tokens.ts";
