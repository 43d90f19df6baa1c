// `latency-probe.ts <url> [everyMs]`: GETs the URL over and over from a process of its own (so
// the load the test generates does not delay the measurement) and prints one line per answer:
// `latency <ms> <status>`. Stops on SIGTERM.
import { request } from "node:http";

const [url = "", everyMs = "50"] = process.argv.slice(2);
let stopped = false;
process.on("SIGTERM", () => {
  stopped = true;
});

function once(): Promise<void> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { agent: false }, (response) => {
      response.resume();
      response.on("end", () => {
        console.log(`latency ${(performance.now() - started).toFixed(1)} ${response.statusCode}`);
        resolve();
      });
    });
    req.on("error", (error) => {
      console.log(`latency ${(performance.now() - started).toFixed(1)} ${error.message}`);
      resolve();
    });
    req.end();
  });
}

while (!stopped) {
  await once();
  await new Promise((resolve) => setTimeout(resolve, Number(everyMs)));
}
