// IPCWorker with the API of the JavaScript original, on the mesh wire
// protocol: a Node.js service keeps its code, swaps its import for this
// file, and shares one mesh with the Go services (docs/migration.md).
//
//   const ipc = new IPCWorker({ serviceName: "exprsn-timeline", namespace: "ipc", servers: "nats://127.0.0.1:4222" });
//   ipc.on("ready", () => ...); ipc.on("error", (err) => ...);
//   ipc.on("post:created", async (data, meta) => console.log(meta.source, data));
//   await ipc.emit("post:created", data, { target: "broadcast" });
//   await ipc.emit("notification:trigger", data, { target: "exprsn-herald" });
//   ipc.off("post:created", handler);
//   await ipc.disconnect();
//
// Beyond the original: request and handle, the native request and reply
// that replaces the hand-rolled requestId pattern; ready(), which resolves
// once every on() and off() so far is in effect on the server; and emit's
// id option and emitWithReceipt, for retrying an emit as the same event.

import { EventEmitter } from "node:events";

import { isJSONContentType } from "./cloudevent.mjs";
import { MeshWorker } from "./mesh.mjs";
import { BROADCAST } from "./subjects.mjs";

const LIFECYCLE = new Set(["ready", "error", "newListener", "removeListener"]);

// meta is what the original passed as a handler's second argument, and the
// rest of the CloudEvent.
function meta(ev) {
  return {
    id: ev.id,
    source: ev.source,
    type: ev.type,
    event: ev.type,
    time: ev.time,
    target: ev.target,
    natsSubject: ev.natsSubject,
    datacontenttype: ev.datacontenttype,
    extensions: ev.extensions,
    raw: ev,
  };
}

// payload is a handler's first argument: JSON data parsed, other data as a
// Buffer, no data as undefined.
function payload(ev) {
  if (ev.data === undefined) return undefined;
  if (ev.datacontenttype && !isJSONContentType(ev.datacontenttype)) return Buffer.from(ev.data);
  return ev.json();
}

export class IPCWorker extends EventEmitter {
  #worker; // Promise<MeshWorker>
  #subs = new Map(); // event -> Map(handler -> Promise<subscription>)
  #offs = new Set(); // Promises of unsubscriptions under way

  /** Connects at once; "ready" or "error" follows. inboxPrefix: see MeshWorker.connect. */
  constructor({ serviceName, namespace = "ipc", servers = "nats://127.0.0.1:4222", inboxPrefix }) {
    super();
    this.serviceName = serviceName;
    this.namespace = namespace;
    this.#worker = MeshWorker.connect({ service: serviceName, namespace, servers, inboxPrefix, onError: (err) => this.#error(err) });
    this.#worker.then(
      () => super.emit("ready"),
      (err) => this.#error(err),
    );
  }

  #error(err) {
    if (this.listenerCount("error") > 0) super.emit("error", err);
    else console.error(`ipc ${this.serviceName}: ${err.message}`);
  }

  /** Listens to a mesh event or pattern ("post:created", "user:*"), or to "ready" and "error". */
  on(event, handler) {
    if (LIFECYCLE.has(event)) return super.on(event, handler);
    const call = async (ev) => {
      try {
        await handler(payload(ev), meta(ev));
      } catch (err) {
        this.#error(new Error(`handler for ${ev.type} (id ${ev.id}) failed: ${err.message}`));
      }
    };
    const sub = this.#worker.then((w) => w.on(event, call));
    sub.catch((err) => this.#error(err));
    if (!this.#subs.has(event)) this.#subs.set(event, new Map());
    this.#subs.get(event).set(handler, sub);
    return this;
  }

  /** Removes exactly the handler registered with on(event, handler). */
  off(event, handler) {
    if (LIFECYCLE.has(event)) return super.off(event, handler);
    const sub = this.#subs.get(event)?.get(handler);
    if (sub) {
      this.#subs.get(event).delete(handler);
      const done = sub.then((s) => s.off(), () => {});
      this.#offs.add(done);
      done.finally(() => this.#offs.delete(done));
    }
    return this;
  }

  /**
   * Resolves once connected and the server knows of every on and off so
   * far: events emitted after it reach the handlers registered, and no
   * longer those removed.
   */
  async ready() {
    const w = await this.#worker;
    await Promise.all([...this.#subs.values()].flatMap((m) => [...m.values()]));
    await Promise.all([...this.#offs]);
    await w.conn.flush();
  }

  /**
   * Sends an event: target "broadcast" (the default) reaches every service
   * listening, a service name one instance of it. Resolves to the event id.
   * id is the event's id (default: a new one); the event stream stores one
   * emit of this service with a given id within its duplicate window.
   */
  async emit(event, data, options) {
    return (await this.emitWithReceipt(event, data, options)).id;
  }

  /** Sends an event as emit does and resolves to its receipt (see MeshWorker.emitWithReceipt). */
  async emitWithReceipt(event, data, { target = "broadcast", id } = {}) {
    const w = await this.#worker;
    return w.emitWithReceipt(event, data, { target: target === "broadcast" ? BROADCAST : target, id });
  }

  /** Asks one instance of service and resolves to the reply's data and meta. */
  async request(service, event, data, { timeout } = {}) {
    const reply = await (await this.#worker).request(service, event, data, { timeout });
    return { data: payload(reply), meta: meta(reply) };
  }

  /** Answers requests for event: what responder returns is the reply's data. */
  async handle(event, responder) {
    const w = await this.#worker;
    return w.onRequest(event, (ev) => responder(payload(ev), meta(ev)));
  }

  /** Lets running handlers finish, flushes emitted events and disconnects. */
  async disconnect() {
    await (await this.#worker).close();
  }
}
