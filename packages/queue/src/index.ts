export * from "./catalog.ts";
export * from "./connection.ts";
export * from "./job-signals.ts";
export * from "./leases.ts";
export * from "./notifier.ts";
export * from "./producers.ts";
export * from "./pubsub.ts";
