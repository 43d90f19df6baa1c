import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { runHttpBackend } from "./http-backend-cgi.ts";

/** One credential the server accepts. Without a username any name goes (a token sent as password). */
export interface GitAccount {
  username?: string;
  password: string;
  /** False: reads only — receive-pack (push) is answered 403, as hosting services do. */
  canPush: boolean;
}

export interface GitRequestInfo {
  method: string;
  path: string;
  service: "upload-pack" | "receive-pack";
  user: string | undefined;
  /** The auth gate's answer: 401, 403, or 200 for "passed on to git http-backend". */
  status: number;
}

export interface GitHttpServerOptions {
  /** Folder holding bare repositories, served as `/<name>.git`. */
  projectRoot: string;
  accounts: GitAccount[];
  /** Serve HTTPS with this certificate (to test TLS failures). */
  tls?: { key: string; cert: string };
  /** Runs before each authenticated request is answered, while the client waits for it. */
  onRequest?: (request: IncomingMessage) => void | Promise<void>;
}

export interface GitHttpServer {
  /** `http(s)://127.0.0.1:<port>/<name>.git` — no credentials in it. */
  url(repository: string): string;
  readonly requests: GitRequestInfo[];
  close(): Promise<void>;
}

function credentialsOf(request: IncomingMessage) {
  const header = request.headers.authorization ?? "";
  if (!header.startsWith("Basic ")) return undefined;
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The smart-HTTP Git server of the tests: `git http-backend` run as a CGI program per request
 * behind Node's HTTP server, with HTTP Basic auth in front — so clones, fetches and pushes go
 * through the real protocol and really authenticate.
 */
export async function startGitHttpServer(options: GitHttpServerOptions): Promise<GitHttpServer> {
  const requests: GitRequestInfo[] = [];
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://git.test");
    const service =
      url.pathname.endsWith("/git-receive-pack") || url.searchParams.get("service") === "git-receive-pack"
        ? "receive-pack"
        : "upload-pack";
    const given = credentialsOf(request);
    const account = options.accounts.find(
      (candidate) =>
        given !== undefined &&
        candidate.password === given.password &&
        (candidate.username === undefined || candidate.username === given.username),
    );
    const record = (status: number) =>
      requests.push({
        method: request.method ?? "",
        path: url.pathname,
        service,
        user: given?.username,
        status,
      });
    if (!account) {
      record(401);
      response.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"' }).end();
      return;
    }
    if (service === "receive-pack" && !account.canPush) {
      record(403);
      response.writeHead(403, { "Content-Type": "text/plain" }).end("read-only credential\n");
      return;
    }
    void Promise.resolve(options.onRequest?.(request)).then(() => {
      record(200);
      runHttpBackend(options.projectRoot, request, response, url, given?.username ?? "anonymous");
    });
  };
  const server = options.tls ? createHttpsServer(options.tls, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const scheme = options.tls ? "https" : "http";
  return {
    url: (repository) => `${scheme}://127.0.0.1:${port}/${repository}.git`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
