import { createConnection, createServer, type Socket } from "node:net";

/**
 * A load balancer for tests: each client connection goes to the next backend in turn (TCP, so
 * keep-alive connections stay on one backend like behind a layer-4 balancer). A backend that
 * refuses the connection is skipped for the next one; one that dies resets its connections, and
 * the clients' reconnections land on the others.
 */
export async function startRoundRobinProxy(backends: { host: string; port: number }[]) {
  const sockets = new Set<Socket>();
  let next = 0;
  /** Connections made to each backend, and ones reset after they were established. */
  const connections = backends.map(() => 0);
  const resets = backends.map(() => 0);
  const open = backends.map(() => 0);

  function connect(client: Socket, attempt: number) {
    if (attempt >= backends.length) {
      client.destroy();
      return;
    }
    const index = next++ % backends.length;
    const upstream = createConnection(backends[index] as { host: string; port: number });
    let established = false;
    upstream.once("connect", () => {
      established = true;
      connections[index] = (connections[index] ?? 0) + 1;
      open[index] = (open[index] ?? 0) + 1;
      sockets.add(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on("error", () => {
      if (!established) {
        upstream.destroy();
        connect(client, attempt + 1);
        return;
      }
      resets[index] = (resets[index] ?? 0) + 1;
      client.destroy();
    });
    upstream.once("close", () => {
      sockets.delete(upstream);
      if (!established) return;
      open[index] = (open[index] ?? 1) - 1;
      client.destroy();
    });
    client.once("close", () => upstream.destroy());
  }

  const server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.on("error", () => client.destroy());
    client.once("close", () => sockets.delete(client));
    connect(client, 0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections,
    resets,
    /** Connections open right now, per backend. */
    open,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
