// The mesh envelope (docs/wire-protocol.md, "Envelope"): CloudEvents 1.0 on
// NATS messages, structured mode written, structured and binary mode read,
// with the decoding rules every participant must follow. The JavaScript
// counterpart of the Go package codec, tested against the same vectors
// (conformance.mjs).

export const SPEC_VERSION = "1.0";
export const MAX_EXTENSIONS = 128;
export const MAX_EXTENSION_NAME_LEN = 64;

/** Why a message is not a valid CloudEvent. `class` is a conformance error class. */
export class DecodeError extends Error {
  constructor(errorClass, message) {
    super(`invalid CloudEvent: ${message}`);
    this.name = "DecodeError";
    this.class = errorClass;
  }
}

const fail = (cls, msg) => {
  throw new DecodeError(cls, msg);
};

const CORE = new Set(["specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "subject", "data", "data_base64"]);
const STRING_ATTRS = ["specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "subject"];

/** Reports whether a media type is JSON: application/json, text/json or a +json suffix. */
export function isJSONContentType(ct) {
  const t = ct.split(";")[0].trim().toLowerCase();
  return t === "application/json" || t === "text/json" || (t.length > 5 && t.endsWith("+json"));
}

const dataIsJSON = (ct) => !ct || isJSONContentType(ct);

function checkExtensionName(name) {
  if (name.length === 0 || name.length > MAX_EXTENSION_NAME_LEN || !/^[a-z0-9]+$/.test(name)) {
    fail("invalid_attribute", `extension name ${JSON.stringify(name)}: 1 to 64 lowercase letters and digits`);
  }
  if (CORE.has(name)) fail("invalid_attribute", `${name} is a core attribute, not an extension`);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** Parses an RFC 3339 timestamp strictly; returns a Date (millisecond precision). */
export function parseTime(v) {
  const m = RFC3339.exec(v);
  const bad = () => fail("invalid_attribute", `time is not RFC 3339: ${JSON.stringify(v)}`);
  if (!m) bad();
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > days || h > 23 || mi > 59 || s > 59) bad();
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) bad();
  return new Date(v.toUpperCase());
}

const wellFormed = (cls, what, s) => {
  if (!s.isWellFormed()) fail(cls, `${what} is not valid UTF-8 (a lone surrogate)`);
  return s;
};

// skipString returns the index past the JSON string starting at s[i].
function skipString(s, i) {
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === "\\") j++;
    else if (s[j] === '"') return j + 1;
  }
  return fail("malformed", "unterminated string");
}

// skipValue returns the index past the JSON value starting at s[i]; the value
// itself is validated with JSON.parse by the caller.
function skipValue(s, i) {
  if (s[i] === '"') return skipString(s, i);
  if (s[i] === "{" || s[i] === "[") {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const c = s[j];
      if (c === '"') j = skipString(s, j) - 1;
      else if (c === "{" || c === "[") depth++;
      else if ((c === "}" || c === "]") && --depth === 0) return j + 1;
    }
    return fail("malformed", "unexpected end of input");
  }
  let j = i;
  while (j < s.length && !",}] \t\r\n".includes(s[j])) j++;
  return j;
}

const WS = " \t\r\n";
const skipWS = (s, i) => {
  while (i < s.length && WS.includes(s[i])) i++;
  return i;
};

function parseJSON(raw) {
  try {
    return JSON.parse(raw);
  } catch {
    return fail("malformed", `not JSON: ${raw.slice(0, 40)}`);
  }
}

// members splits a structured body into its top-level [name, raw, value]
// members, refusing anything but one JSON object without duplicate names.
function members(s) {
  let i = skipWS(s, 0);
  if (s[i] !== "{") fail("malformed", "not a JSON object");
  const out = [];
  const seen = new Set();
  i = skipWS(s, i + 1);
  if (s[i] === "}") i++;
  else {
    for (;;) {
      if (s[i] !== '"') fail("malformed", "want a member name");
      const end = skipString(s, i);
      const name = wellFormed("invalid_utf8", "a member name", parseJSON(s.slice(i, end)));
      i = skipWS(s, end);
      if (s[i] !== ":") fail("malformed", "want ':'");
      i = skipWS(s, i + 1);
      if (i >= s.length) fail("malformed", "unexpected end of input");
      const vend = skipValue(s, i);
      const raw = s.slice(i, vend);
      const value = parseJSON(raw);
      if (seen.has(name)) fail("malformed", `member ${JSON.stringify(name)} given twice`);
      seen.add(name);
      out.push([name, raw, value]);
      i = skipWS(s, vend);
      if (s[i] === ",") {
        i = skipWS(s, i + 1);
        continue;
      }
      if (s[i] !== "}") fail("malformed", "want ',' or '}'");
      i++;
      break;
    }
  }
  if (skipWS(s, i) !== s.length) fail("malformed", "data after the JSON object");
  return out;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes a structured-mode body (a Uint8Array) into an event:
 * {id, source, type, time?, datacontenttype?, dataschema?, subject?,
 *  extensions: {name: string}, data?: Uint8Array}. Throws a DecodeError.
 */
export function decodeStructured(body) {
  let s;
  let badUTF8 = false;
  try {
    s = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    s = new TextDecoder("utf-8", { ignoreBOM: true }).decode(body);
    badUTF8 = true;
  }
  if (skipWS(s, 0) === s.length) fail("malformed", "empty body");
  const ms = members(s);
  if (badUTF8) fail("invalid_utf8", "the body is not valid UTF-8");
  const ev = { extensions: {} };
  let data;
  let b64;
  let nExt = 0;
  for (const [name, raw, value] of ms) {
    if (STRING_ATTRS.includes(name)) {
      if (value !== null && typeof value !== "string") fail("invalid_attribute", `${name} must be a string`);
      if (value === null) continue;
      setAttribute(ev, name, wellFormed("invalid_utf8", name, value));
    } else if (name === "data") {
      data = { raw, value };
    } else if (name === "data_base64") {
      if (value !== null && typeof value !== "string") fail("invalid_attribute", "data_base64 must be a string");
      b64 = { value };
    } else {
      checkExtensionName(name);
      if (value === null) continue;
      if (typeof value === "string") ev.extensions[name] = wellFormed("invalid_utf8", name, value);
      else if (typeof value === "number" || typeof value === "boolean") ev.extensions[name] = raw.trim();
      else fail("invalid_attribute", `extension ${name} must be a string, number or boolean`);
      if (++nExt > MAX_EXTENSIONS) fail("invalid_attribute", `more than ${MAX_EXTENSIONS} extensions`);
    }
  }
  checkRequired(ev);
  if (data && b64) fail("invalid_attribute", "both data and data_base64");
  if (data && data.value !== null) {
    if (dataIsJSON(ev.datacontenttype) || typeof data.value !== "string") ev.data = Buffer.from(data.raw.trim());
    else ev.data = Buffer.from(wellFormed("invalid_utf8", "data", data.value));
  } else if (b64 && b64.value !== null) {
    if (!BASE64.test(b64.value)) fail("invalid_attribute", "data_base64 is not standard base64");
    ev.data = Buffer.from(b64.value, "base64");
  }
  return ev;
}

// setAttribute sets a core string attribute (all but data) read in either
// mode: specversion must be 1.0, time RFC 3339, and an empty optional
// attribute is absent.
function setAttribute(ev, name, v) {
  if (name === "specversion") {
    if (v !== SPEC_VERSION) fail(v === "" ? "missing_attribute" : "specversion", `specversion ${JSON.stringify(v)}`);
    ev.specversion = v;
  } else if (name === "time") {
    ev.time = v;
    ev.timeDate = parseTime(v);
  } else if (v !== "") ev[name] = v;
}

function checkRequired(ev) {
  if (ev.specversion === undefined) fail("missing_attribute", "specversion is missing");
  for (const a of ["id", "source", "type"]) if (!ev[a]) fail("missing_attribute", `${a} is missing or empty`);
}

function trimOWS(s) {
  return s.replace(/^[ \t]+|[ \t]+$/g, "");
}

// headerValue decodes one binary-mode header value: trimmed, unquoted if
// quoted, percent-decoded.
function headerValue(name, values) {
  if (values.length > 1) fail("invalid_attribute", `header ce-${name} given more than once`);
  let v = trimOWS(values[0] ?? "");
  if (v.startsWith('"')) {
    const m = /^"((?:[^"\\]|\\.)*)"$/.exec(v);
    if (!m) fail("invalid_attribute", `bad quoted value in ce-${name}`);
    v = m[1].replace(/\\(.)/g, "$1");
  }
  if (!v.includes("%")) return v;
  const bytes = [];
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== "%") {
      bytes.push(...Buffer.from(v[i]));
      continue;
    }
    const hex = v.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) fail("invalid_attribute", `bad percent-encoding in ce-${name}`);
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return fail("invalid_utf8", `ce-${name} is not UTF-8 once percent-decoded`);
  }
}

/** Reports whether headers ({name: [values]}) make a binary-mode message. */
export function isBinary(headers) {
  return Object.keys(headers ?? {}).some((k) => k.toLowerCase() === "ce-specversion");
}

/** Decodes a binary-mode message: attributes from ce-* headers, data the body. */
export function decodeBinary(headers, body) {
  const ev = { extensions: {} };
  const seen = new Set();
  let contentType;
  for (const [key, values] of Object.entries(headers)) {
    const lower = key.toLowerCase();
    if (lower === "content-type") {
      if (contentType !== undefined || values.length > 1) fail("invalid_attribute", "Content-Type given more than once");
      contentType = trimOWS(values[0] ?? "");
      continue;
    }
    if (!lower.startsWith("ce-")) continue;
    const name = lower.slice(3);
    const v = headerValue(name, values);
    if (seen.has(name)) fail("invalid_attribute", `header ce-${name} given more than once`);
    seen.add(name);
    if (STRING_ATTRS.includes(name)) {
      setAttribute(ev, name, v);
    } else {
      checkExtensionName(name);
      ev.extensions[name] = v;
      if (Object.keys(ev.extensions).length > MAX_EXTENSIONS) fail("invalid_attribute", "too many extensions");
    }
  }
  if (!seen.has("datacontenttype") && contentType) ev.datacontenttype = contentType;
  checkRequired(ev);
  if (body.length > 0) ev.data = Buffer.from(body);
  return ev;
}

/** Decodes a message in either mode; headers is {name: [values]} or undefined. */
export function decode(headers, body) {
  return isBinary(headers) ? decodeBinary(headers, body) : decodeStructured(body);
}

/**
 * Encodes an event in structured mode, members in the order Go workers write
 * them. data is JSON text (a string) for a JSON or absent content type, else
 * bytes (a Uint8Array), written as data_base64.
 */
export function encodeStructured(ev) {
  for (const a of ["id", "source", "type"]) if (!ev[a]) throw new Error(`encode: ${a} is required`);
  const parts = [`"specversion":"${SPEC_VERSION}"`];
  const put = (k, v) => {
    if (typeof v !== "string" || !v.isWellFormed()) throw new Error(`encode: ${k} must be a well-formed string`);
    parts.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
  };
  for (const a of ["id", "source", "type", "time", "datacontenttype", "dataschema", "subject"]) {
    if (ev[a] !== undefined && ev[a] !== "") put(a, ev[a]);
  }
  for (const [k, v] of Object.entries(ev.extensions ?? {})) {
    checkExtensionName(k);
    put(k, v);
  }
  if (ev.data !== undefined) {
    if (dataIsJSON(ev.datacontenttype)) {
      JSON.parse(ev.data); // embedded as is, once known to be JSON
      parts.push(`"data":${ev.data.trim()}`);
    }
    else parts.push(`"data_base64":"${Buffer.from(ev.data).toString("base64")}"`);
  }
  return Buffer.from(`{${parts.join(",")}}`);
}
