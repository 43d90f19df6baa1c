import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of a dependency (Redis, PostgreSQL) that a test can cut, stall and
 * restore, without stopping the server other test files share:
 * - `cut()`: an outage — connections reset, new ones refused;
 * - `stall()`: a partition — connections stay open (new ones too) but nothing gets through in
 *   either direction, so every request waits for an answer that does not come.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let stalled = false;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    if (stalled) socket.pause();
  };

  /** Copies `from` into `to` with backpressure; while stalled, `from` is not read at all. */
  function forward(from: Socket, to: Socket) {
    from.on("data", (chunk: Buffer) => {
      if (to.write(chunk)) return;
      from.pause();
      to.once("drain", () => {
        if (!stalled) from.resume();
      });
    });
  }

  function listen(): Promise<void> {
    const next = createServer((client) => {
      const upstream = createConnection(target);
      track(client);
      track(upstream);
      forward(client, upstream);
      forward(upstream, client);
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

  /** Lets nothing through, on open connections and new ones, until `restore()`. */
  function stall() {
    stalled = true;
    for (const socket of sockets) socket.pause();
  }

  /** Accepts connections again (after a cut) and lets everything through (after a stall). */
  async function restore(): Promise<void> {
    if (stalled) {
      stalled = false;
      for (const socket of sockets) socket.resume();
    }
    if (!server) await listen();
  }

  await listen();
  return {
    get port() {
      return port;
    },
    cut,
    stall,
    restore,
    close: cut,
  };
}
