// A JavaScript service on the mesh, written with the IPCWorker API of the
// original (ipcworker.mjs) and driven line by line: the peer that
// jspeer_test.go runs against Go workers, and a way to try the mesh from
// Node.js by hand.
//
//   node peer.mjs --server nats://127.0.0.1:4222 [--service exprsn-jspeer] [--namespace ipc] [--inbox-prefix _INBOX_exprsn-jspeer]
//
// It listens to post:created (broadcasts), notification:trigger (sent to
// it), the pattern user:* and answers profile:get requests (ana is known; an unknown user is a
// 404; user "boom" makes the responder fail, a 500). It reads commands, one
// JSON object per line on stdin:
//
//   {"cmd":"emit","event":"order:placed","data":{...},"target":"exprsn-gopeer","id":"order-7"}
//   {"cmd":"request","service":"exprsn-gopeer","event":"session:validate","data":{...}}
//   {"cmd":"off","event":"post:created"}
//   {"cmd":"close"}
//
// ("target" and "id" optional) and writes what happens as one JSON object
// per line on stdout: {"kind": "ready"}, "event" (an event a handler
// received), "emitted" (with the receipt: id, stream, sequence, duplicate),
// "reply", "request-error", "invalid" (a message refused), "off", "error",
// "closed". A command's "tag" is copied to its answer.

import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

import { IPCWorker } from "./ipcworker.mjs";
import { RemoteError } from "./mesh.mjs";

const { values: args } = parseArgs({
  options: {
    server: { type: "string", default: "nats://127.0.0.1:4222" },
    service: { type: "string", default: "exprsn-jspeer" },
    namespace: { type: "string", default: "ipc" },
    "inbox-prefix": { type: "string" },
  },
});

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// view is an event as the peer reports it: JSON data as is, other data in
// base64, and the attributes from the handler's meta.
function view(data, meta) {
  const { id, source, type, time, datacontenttype, subject, extensions, target, natsSubject } = meta.raw;
  const v = { id, source, type, time, datacontenttype, subject, extensions, target, natsSubject };
  if (Buffer.isBuffer(data)) v.data_base64 = data.toString("base64");
  else v.data = data;
  return v;
}

const users = { ana: { userId: "ana", name: "Ana" } };

// The service, written as with the original IPCWorker.
const ipc = new IPCWorker({ serviceName: args.service, namespace: args.namespace, servers: args.server, inboxPrefix: args["inbox-prefix"] });
ipc.on("error", (err) => out({ kind: err.name === "DecodeError" ? "invalid" : "error", class: err.class, message: err.message }));
const handlers = {};
for (const event of ["post:created", "notification:trigger", "user:*"]) {
  handlers[event] = (data, meta) => out({ kind: "event", handler: event, event: view(data, meta) });
  ipc.on(event, handlers[event]);
}
await ipc.handle("profile:get", async ({ userId }) => {
  if (userId === "boom") throw new Error("profile store unavailable");
  const user = users[userId];
  if (!user) throw new RemoteError(404, `no user ${userId}`);
  return user;
});
await ipc.ready();
out({ kind: "ready", service: ipc.serviceName, namespace: ipc.namespace });

async function run(cmd) {
  const tag = cmd.tag;
  switch (cmd.cmd) {
    case "emit": {
      const { id, stream, sequence, duplicate } = await ipc.emitWithReceipt(cmd.event, cmd.data, { target: cmd.target, id: cmd.id });
      return out({ kind: "emitted", tag, id, stream, sequence, duplicate });
    }
    case "request":
      try {
        const { data, meta } = await ipc.request(cmd.service, cmd.event, cmd.data, { timeout: cmd.timeout });
        return out({ kind: "reply", tag, event: view(data, meta) });
      } catch (err) {
        return out({ kind: "request-error", tag, error: { name: err.name, code: err.code, message: err.remoteMessage ?? err.message } });
      }
    case "off":
      ipc.off(cmd.event, handlers[cmd.event]);
      await ipc.ready();
      return out({ kind: "off", tag });
    case "close":
      await ipc.disconnect();
      out({ kind: "closed", tag });
      process.exit(0);
      break;
    default:
      out({ kind: "error", tag, message: `unknown command ${JSON.stringify(cmd.cmd)}` });
  }
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let cmd;
  try {
    cmd = JSON.parse(line);
    await run(cmd);
  } catch (err) {
    out({ kind: "error", tag: cmd?.tag, message: err.message });
  }
}
await ipc.disconnect();
out({ kind: "closed" });
