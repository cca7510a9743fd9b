// The example's page under Node.js, for its test: the same feed.js with
// the same nats.ws bundle the page loads, over the ws package's WebSocket
// (Node.js 20 has none). It reads the page's /config.json from the URL
// given, prints one JSON line when it follows its feeds ("ready"), one per
// event ("event"), and, after a line on standard input, the outcome of a
// subscription outside its feeds ("peek").
import { WebSocket } from "ws";
import { createInterface } from "node:readline";

globalThis.WebSocket = WebSocket;
const { connect } = await import("nats.ws");
const { follow, peek } = await import("./web/feed.js");

const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const cfg = await (await fetch(new URL("/config.json", process.argv[2]))).json();
const nc = await follow(connect, cfg, (feed, ce) => print({ kind: "event", feed, type: ce.type, data: ce.data }));
print({ kind: "ready" });
for await (const _ of createInterface({ input: process.stdin })) {
  const err = await peek(nc, cfg.peek);
  print({ kind: "peek", code: err?.code ?? null, message: err?.message ?? null });
}
await nc.close();
