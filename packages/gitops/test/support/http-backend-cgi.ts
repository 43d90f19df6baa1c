import { spawn } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";

const HEADER_END = /\r?\n\r?\n/;

/**
 * Runs `git http-backend` for one request (RFC 3875 CGI): request headers become environment
 * variables, the body goes to stdin, and the program's output is a header block (with an optional
 * `Status:` line) followed by the body.
 */
export function runHttpBackend(
  projectRoot: string,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  remoteUser: string,
) {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: projectRoot,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: "1",
    // http-backend enables receive-pack only for an authenticated user.
    REMOTE_USER: remoteUser,
    REMOTE_ADDR: request.socket.remoteAddress ?? "127.0.0.1",
    REQUEST_METHOD: request.method ?? "GET",
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: request.headers["content-type"] ?? "",
  };
  if (request.headers["content-length"]) env.CONTENT_LENGTH = request.headers["content-length"];
  if (request.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = request.headers["content-encoding"];
  const protocol = request.headers["git-protocol"];
  if (typeof protocol === "string") env.GIT_PROTOCOL = protocol;

  const backend = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "ignore"] });
  request.pipe(backend.stdin);
  backend.stdin.on("error", () => {});
  let head = Buffer.alloc(0);
  let headersSent = false;
  backend.stdout.on("data", (chunk: Buffer) => {
    if (headersSent) {
      response.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const text = head.toString("latin1");
    const end = HEADER_END.exec(text);
    if (!end) return;
    let status = 200;
    for (const line of text.slice(0, end.index).split(/\r?\n/)) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
      else if (name) response.setHeader(name, value);
    }
    response.writeHead(status);
    headersSent = true;
    response.write(head.subarray(end.index + end[0].length));
  });
  backend.on("close", (code) => {
    if (!headersSent) response.writeHead(code === 0 ? 200 : 500);
    response.end();
  });
}
