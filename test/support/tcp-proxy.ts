import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of a dependency (Redis, PostgreSQL) that a test can cut and restore: an
 * outage as the service sees it — connections reset, new ones refused — without stopping the
 * server other test files share.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };

  function listen(): Promise<void> {
    const next = createServer((client) => {
      const upstream = createConnection(target);
      track(client);
      track(upstream);
      client.pipe(upstream).pipe(client);
      client.once("close", () => upstream.destroy());
      upstream.once("close", () => client.destroy());
    });
    server = next;
    return new Promise((resolve, reject) => {
      next.once("error", reject);
      next.listen(port, "127.0.0.1", () => {
        const address = next.address();
        if (typeof address === "object" && address) port = address.port;
        resolve();
      });
    });
  }

  /** Resets every open connection and refuses new ones until `restore()`. */
  async function cut(): Promise<void> {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => (closing ? closing.close(() => resolve()) : resolve()));
  }

  await listen();
  return {
    get port() {
      return port;
    },
    cut,
    /** Accepts connections again, on the same port. */
    restore: () => (server ? Promise.resolve() : listen()),
    close: cut,
  };
}
