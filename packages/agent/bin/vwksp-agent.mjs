#!/usr/bin/env node
// The sources are TypeScript run through tsx, like the API and the worker (see the Dockerfile).
import { register } from "tsx/esm/api";

register();
const { runCli } = await import("../src/cli.ts");
// Exit explicitly: keep-alive sockets of the HTTP clients must not hold a stopped agent open.
process.exit(await runCli(process.argv.slice(2)));
