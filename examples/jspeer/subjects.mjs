// Names and subjects of the mesh wire protocol (docs/wire-protocol.md,
// "Subjects"), and events' duplicate keys: the JavaScript counterpart of the
// Go package subjects. Pure functions, no I/O.

import { createHash } from "node:crypto";

export const DEFAULT_NAMESPACE = "ipc";
export const BROADCAST = "all";
export const REQUEST_PREFIX = "_rpc";
export const MAX_NAME_LEN = 64;
export const MAX_EVENT_LEN = 256;
export const MAX_SEGMENTS = 16;

/** A refused name. `reserved` is set when the name is refused only because it is reserved. */
export class NameError extends Error {
  constructor(kind, name, reason, reserved = false) {
    super(`invalid ${kind} ${JSON.stringify(name)}: ${reason}`);
    this.name = "NameError";
    this.kind = kind;
    this.value = name;
    this.reserved = reserved;
  }
}

const SAFE = /^[A-Za-z0-9_-]+$/;

function checkToken(kind, name, s) {
  if (s === "") throw new NameError(kind, name, "empty segment");
  if (!SAFE.test(s)) throw new NameError(kind, name, "use letters, digits, '-' and '_'");
}

/** Throws a NameError unless ns can be a namespace. */
export function validateNamespace(ns) {
  if (Buffer.byteLength(ns) > MAX_NAME_LEN) throw new NameError("namespace", ns, `longer than ${MAX_NAME_LEN} bytes`);
  checkToken("namespace", ns, ns);
  if (ns.startsWith("_")) throw new NameError("namespace", ns, "reserved (names starting with '_')", true);
}

/** Reports whether a service name is reserved: "all", "any", or starting with '_'. */
export function isReserved(name) {
  return name === BROADCAST || name === "any" || name.startsWith("_");
}

/** Throws a NameError unless name can be a service name. */
export function validateService(name) {
  if (Buffer.byteLength(name) > MAX_NAME_LEN) throw new NameError("service name", name, `longer than ${MAX_NAME_LEN} bytes`);
  checkToken("service name", name, name);
  if (isReserved(name)) throw new NameError("service name", name, "reserved (\"all\", \"any\" and names starting with '_')", true);
}

function validateTarget(target) {
  if (target !== BROADCAST) validateService(target);
}

function checkEvent(kind, name, wildcards) {
  if (Buffer.byteLength(name) > MAX_EVENT_LEN) throw new NameError(kind, name, `longer than ${MAX_EVENT_LEN} bytes`);
  if (name === "") throw new NameError(kind, name, "empty");
  const segments = name.split(":");
  if (segments.length > MAX_SEGMENTS) throw new NameError(kind, name, `more than ${MAX_SEGMENTS} segments`);
  segments.forEach((seg, i) => {
    if (wildcards && seg === "*") return;
    if (wildcards && seg === ">") {
      if (i !== segments.length - 1) throw new NameError(kind, name, "'>' must be the last segment");
      return;
    }
    checkToken(kind, name, seg);
  });
}

/** Throws a NameError unless event is a valid event name ("post:created"). */
export function validateEvent(event) {
  checkEvent("event name", event, false);
}

/** Throws a NameError unless pattern is a valid pattern ("user:*", "content:>"). */
export function validatePattern(pattern) {
  checkEvent("event pattern", pattern, true);
}

const join = (ns, target, event) => `${ns}.${target}.${event.replaceAll(":", ".")}`;

/** The subject an event travels on: <ns>.<target>.<event tokens>. */
export function subject(ns, target, event) {
  validateNamespace(ns);
  validateTarget(target);
  validateEvent(event);
  return join(ns, target, event);
}

/** The subject a request travels on: _rpc.<ns>.<service>.<event tokens>. */
export function requestSubject(ns, service, event) {
  validateService(service);
  return `${REQUEST_PREFIX}.${subject(ns, service, event)}`;
}

/** The subject filter of pattern sent to target (a service, "all", or "*" for any). */
export function filter(ns, target, pattern) {
  validateNamespace(ns);
  if (target !== "*") validateTarget(target);
  validatePattern(pattern);
  return join(ns, target, pattern);
}

/** The filter of the requests for pattern to service. */
export function requestFilter(ns, service, pattern) {
  validateService(service);
  return `${REQUEST_PREFIX}.${filter(ns, service, pattern)}`;
}

/** The queue group through which the instances of service share pattern: "<service>:<pattern>". */
export function queueGroup(service, pattern) {
  return `${service}:${pattern}`;
}

/**
 * The target of a mesh event or request subject of namespace ns
 * ("[_rpc.]<ns>.<target>.<event tokens>"), or undefined when s is not one:
 * a reply inbox ("_INBOX.<...>" or a custom prefix), another namespace's
 * subject. Unlike parseSubject it validates nothing: it is for subjects a
 * subscription of ns delivered, read on every message.
 */
export function targetOf(s, ns) {
  const subj = s.startsWith(REQUEST_PREFIX + ".") ? s.slice(REQUEST_PREFIX.length + 1) : s;
  if (!subj.startsWith(ns + ".")) return undefined;
  const rest = subj.slice(ns.length + 1);
  const dot = rest.indexOf(".");
  if (dot <= 0 || dot === rest.length - 1) return undefined; // no target or no event
  return rest.slice(0, dot);
}

/**
 * The duplicate key of the event (source, id): the Nats-Msg-Id header under
 * which the event stream drops a retried publish of the same event
 * (docs/wire-protocol.md, "The duplicate key"), as Go's
 * subjects.DuplicateKey. CloudEvents makes only the pair unique, so the key
 * is derived from both: the unpadded base64url encoding of the first 16
 * bytes of the SHA-256 of the decimal byte length of source in UTF-8 (not
 * its String length), ':', source and id. duplicateKey("orders", "42") is
 * "8izUpzBC4Ty9FgEuoL_CYQ".
 */
export function duplicateKey(source, id) {
  return createHash("sha256")
    .update(`${Buffer.byteLength(source, "utf8")}:`, "utf8")
    .update(source, "utf8")
    .update(id, "utf8")
    .digest()
    .subarray(0, 16)
    .toString("base64url");
}

/** The address {namespace, target, event} of a mesh event or request subject. */
export function parseSubject(s) {
  const subj = s.startsWith(REQUEST_PREFIX + ".") ? s.slice(REQUEST_PREFIX.length + 1) : s;
  const parts = subj.split(".");
  if (parts.length < 3) throw new NameError("subject", s, "want <namespace>.<target>.<event>");
  const [namespace, target, ...tokens] = parts;
  const event = tokens.join(":");
  validateNamespace(namespace);
  validateTarget(target);
  validateEvent(event);
  return { namespace, target, event };
}
