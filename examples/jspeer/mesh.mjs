// A small JavaScript mesh worker over the npm nats package, speaking the
// wire protocol of docs/wire-protocol.md: what a Node.js service needs to
// share a mesh with Go services during a move (see docs/migration.md).
//
//   const w = await MeshWorker.connect({ service: "exprsn-jspeer", servers: "nats://127.0.0.1:4222" });
//   w.on("post:created", async (ev) => console.log(ev.source, ev.json()));
//   await w.emit("order:placed", { orderId: 7 });                         // broadcast
//   await w.emit("order:shipped", { orderId: 7 }, { target: "exprsn-gopeer" });
//   const { sequence, duplicate } = await w.emitWithReceipt("order:paid", { orderId: 7 }, { id: "order-7-paid" });
//   w.onRequest("profile:get", async (ev) => ({ userId: ev.json().userId }));
//   const reply = await w.request("exprsn-auth", "session:validate", { token });
//   await w.close();

import { connect, headers as natsHeaders, nuid, ErrorCode } from "nats";

import { decode, encodeStructured, isJSONContentType } from "./cloudevent.mjs";
import * as subjects from "./subjects.mjs";

export const HEADER_SERVICE_ERROR = "Nats-Service-Error";
export const HEADER_SERVICE_ERROR_CODE = "Nats-Service-Error-Code";
export const HEADER_MSG_ID = "Nats-Msg-Id";

/** The error a responder answered with; throw one from a responder to choose the code. */
export class RemoteError extends Error {
  constructor(code, message, { service, event } = {}) {
    super(service ? `${service} answered ${event} with error ${code}: ${message}` : message);
    this.name = "RemoteError";
    this.code = code;
    this.remoteMessage = message;
    this.service = service;
    this.event = event;
  }
}

/** No instance of the service answers the request (the server's 503). */
export class NoRespondersError extends Error {
  constructor(service, event) {
    super(`no instance of ${service} answers ${event}`);
    this.name = "NoRespondersError";
  }
}

// An event as handlers receive it: the CloudEvent plus where it travelled.
// target is the service it was sent to ("all" for a broadcast); the caller
// says which, since only it knows what kind of subject msg came on.
function received(msg, target) {
  const ev = decode(msg.headers ? msg.headers.toRecord() : undefined, msg.data);
  ev.target = target;
  ev.natsSubject = msg.subject;
  ev.json = () => {
    if (ev.data === undefined) throw new Error(`event ${ev.type} (id ${ev.id}) has no data`);
    if (ev.datacontenttype && !isJSONContentType(ev.datacontenttype)) throw new Error(`event ${ev.type} has data of type ${ev.datacontenttype}`);
    return JSON.parse(Buffer.from(ev.data).toString("utf8"));
  };
  return ev;
}

// setData puts data on ev as Go's Emit does: bytes as application/octet-stream,
// anything else as JSON, undefined or null as no data.
function setData(ev, data, contentType) {
  if (data === undefined || data === null) return;
  if (data instanceof Uint8Array) {
    ev.data = data;
    ev.datacontenttype = contentType ?? "application/octet-stream";
    return;
  }
  ev.data = JSON.stringify(data);
  ev.datacontenttype = contentType ?? "application/json";
}

/** One instance of a service on the mesh. */
export class MeshWorker {
  #nc;
  #js; // set when the namespace has an event stream: emits wait until stored
  #onError;

  constructor(nc, js, service, namespace, onError) {
    this.#nc = nc;
    this.#js = js;
    this.service = service;
    this.namespace = namespace;
    this.#onError = onError ?? ((err) => console.error(`mesh: ${err.message}`));
  }

  /**
   * Connects a worker for service. servers is a URL or a list; namespace
   * defaults to "ipc"; onError receives invalid messages and handler
   * failures (default: logged). inboxPrefix replaces "_INBOX" as the prefix
   * of reply subjects, for a service confined to private inboxes
   * ("_INBOX_<service>", as the Go permissions package grants).
   */
  static async connect({ service, namespace = subjects.DEFAULT_NAMESPACE, servers, onError, inboxPrefix }) {
    subjects.validateService(service);
    subjects.validateNamespace(namespace);
    const nc = await connect({ servers, name: service, ...(inboxPrefix ? { inboxPrefix } : {}) });
    let js;
    try {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.info(`MESH_${namespace}`);
      js = nc.jetstream();
    } catch {
      // No JetStream or no event stream: live emits only.
    }
    return new MeshWorker(nc, js, service, namespace, onError);
  }

  /** The NATS connection, for what the worker does not wrap. */
  get conn() {
    return this.#nc;
  }

  #subscribe(filter, queue, onMsg) {
    return this.#nc.subscribe(filter, { queue, callback: (err, msg) => (err ? this.#onError(err) : onMsg(msg)) });
  }

  #dispatch(msg, handler) {
    let ev;
    try {
      ev = received(msg, subjects.targetOf(msg.subject, this.namespace));
    } catch (err) {
      this.#onError(err);
      return;
    }
    Promise.resolve()
      .then(() => handler(ev))
      .catch((err) => this.#onError(new Error(`handler for ${ev.type} (id ${ev.id}) failed: ${err.message}`)));
  }

  /**
   * Registers handler for the events matching pattern: those sent to this
   * service (one instance of the service gets each, through the queue group
   * "<service>:<pattern>" that Go instances join too) and the broadcasts
   * (every instance, or one per service with oncePerService). Resolves to a
   * subscription whose off() removes it, once the server knows of it.
   */
  async on(pattern, handler, { oncePerService = false } = {}) {
    const queue = subjects.queueGroup(this.service, pattern);
    const targeted = subjects.filter(this.namespace, this.service, pattern);
    const broadcast = subjects.filter(this.namespace, subjects.BROADCAST, pattern);
    const subs = [
      this.#subscribe(targeted, queue, (m) => this.#dispatch(m, handler)),
      this.#subscribe(broadcast, oncePerService ? queue : undefined, (m) => this.#dispatch(m, handler)),
    ];
    await this.#nc.flush();
    return { off: () => subs.forEach((s) => s.unsubscribe()) };
  }

  /**
   * Emits event with data, as a broadcast unless target names a service,
   * and resolves to its id. With an event stream it resolves once the event
   * is stored.
   */
  async emit(event, data, options) {
    return (await this.emitWithReceipt(event, data, options)).id;
  }

  /**
   * Emits as emit does and resolves to what became of the event, as Go's
   * Worker.EmitWithReceipt: {id, subject, stream, sequence, duplicate}.
   * stream and sequence say where the event stream stored it ("" and 0
   * without a stream); duplicate is set when the stream already had the
   * event (source, id), within its duplicate window, and dropped this
   * publish: a retry with the same id.
   */
  async emitWithReceipt(event, data, { target = subjects.BROADCAST, id, contentType, extensions } = {}) {
    const subj = subjects.subject(this.namespace, target, event);
    const ev = { id: id ?? nuid.next(), source: this.service, type: event, time: new Date().toISOString(), extensions };
    setData(ev, data, contentType);
    const body = encodeStructured(ev);
    const receipt = { id: ev.id, subject: subj, stream: "", sequence: 0, duplicate: false };
    if (this.#js) {
      // The stream drops a retried publish of the same (source, id): the
      // key is derived from both, as Go workers derive it.
      const ack = await this.#js.publish(subj, body, { msgID: subjects.duplicateKey(ev.source, ev.id) });
      Object.assign(receipt, { stream: ack.stream, sequence: ack.seq, duplicate: ack.duplicate });
    } else {
      this.#nc.publish(subj, body);
    }
    return receipt;
  }

  /**
   * Sends a request to one instance of service and resolves to its reply
   * event; rejects with a RemoteError, a NoRespondersError at once, or a
   * timeout after timeout ms (default 5000).
   */
  async request(service, event, data, { timeout = 5000 } = {}) {
    const subj = subjects.requestSubject(this.namespace, service, event);
    const ev = { id: nuid.next(), source: this.service, type: event, time: new Date().toISOString() };
    setData(ev, data);
    let msg;
    try {
      msg = await this.#nc.request(subj, encodeStructured(ev), { timeout });
    } catch (err) {
      if (err.code === ErrorCode.NoResponders) throw new NoRespondersError(service, event);
      throw err;
    }
    const h = msg.headers;
    if (h && (h.get(HEADER_SERVICE_ERROR) || h.get(HEADER_SERVICE_ERROR_CODE))) {
      const code = parseInt(h.get(HEADER_SERVICE_ERROR_CODE), 10) || 500;
      throw new RemoteError(code, h.get(HEADER_SERVICE_ERROR), { service, event });
    }
    // A reply comes on this connection's inbox (_INBOX.<...> or the
    // inboxPrefix), not on a mesh subject: its target is this service, the
    // one that asked, as in Go's Worker.Request.
    return received(msg, this.service);
  }

  #replyError(reply, code, message) {
    const h = natsHeaders();
    h.set(HEADER_SERVICE_ERROR, message.replace(/[\r\n]+/g, " "));
    h.set(HEADER_SERVICE_ERROR_CODE, String(code));
    this.#nc.publish(reply, new Uint8Array(0), { headers: h });
  }

  /**
   * Registers responder to answer the requests for pattern sent to this
   * service. What it returns is the reply's data; a RemoteError it throws
   * travels back with its code, any other error with code 500.
   */
  async onRequest(pattern, responder) {
    const filter = subjects.requestFilter(this.namespace, this.service, pattern);
    const sub = this.#subscribe(filter, subjects.queueGroup(this.service, pattern), async (msg) => {
      if (!msg.reply) return;
      let req;
      try {
        req = received(msg, subjects.targetOf(msg.subject, this.namespace));
      } catch (err) {
        this.#onError(err);
        this.#replyError(msg.reply, 400, `not a valid CloudEvent: ${err.message}`);
        return;
      }
      try {
        const ev = { id: nuid.next(), source: this.service, type: req.type, time: new Date().toISOString() };
        setData(ev, await responder(req));
        this.#nc.publish(msg.reply, encodeStructured(ev));
      } catch (err) {
        const code = err instanceof RemoteError ? err.code : 500;
        if (code >= 500) this.#onError(new Error(`responder for ${req.type} (id ${req.id}) failed: ${err.message}`));
        this.#replyError(msg.reply, code, err instanceof RemoteError ? err.remoteMessage : err.message);
      }
    });
    await this.#nc.flush();
    return { off: () => sub.unsubscribe() };
  }

  /** Lets handlers finish, flushes what was emitted and disconnects. */
  async close() {
    await this.#nc.drain();
  }
}
