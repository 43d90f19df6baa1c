/** Test support other packages' integration tests can reuse: `@vwksp/gitops/test-support`. */
export * from "./git-http-server.ts";
export * from "./git-ssh-server.ts";
export * from "./repositories.ts";
