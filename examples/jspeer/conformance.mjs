// Runs the wire-protocol conformance vectors (../../conformance) against the
// JavaScript peer's codec, subject mapping and duplicate keys, as another
// implementation would: `node conformance.mjs [vector directory]`. It
// prints one line per failure and a last line "conformance: N passed, M
// failed", and exits 1 if any vector failed.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

import { decode, encodeStructured, isJSONContentType } from "./cloudevent.mjs";
import * as subjects from "./subjects.mjs";

const dir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "..", "..", "conformance");
const ENVELOPE_FILES = ["structured-valid.json", "structured-malformed.json", "structured-invalid.json", "binary.json"];
const load = (name) => JSON.parse(readFileSync(join(dir, name), "utf8")).vectors;

let passed = 0;
let failed = 0;
function check(name, fn) {
  try {
    fn();
    passed++;
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${err.message}`);
  }
}
function expect(cond, what) {
  if (!cond) throw new Error(what);
}

// sameEvent compares a decoded event with a vector's event as the
// conformance README says: times as instants (milliseconds here),
// extensions as a set, JSON data as JSON values, other data as bytes.
function sameEvent(got, want) {
  for (const a of ["id", "source", "type", "datacontenttype", "dataschema", "subject"]) {
    expect((got[a] ?? "") === (want[a] ?? ""), `${a}: got ${JSON.stringify(got[a])}, want ${JSON.stringify(want[a])}`);
  }
  expect((got.time === undefined) === (want.time === undefined), "time presence");
  if (want.time) expect(Date.parse(got.time.toUpperCase()) === Date.parse(want.time), `time ${got.time}, want ${want.time}`);
  expect(isDeepStrictEqual({ ...got.extensions }, { ...(want.extensions ?? {}) }), `extensions ${JSON.stringify(got.extensions)}`);
  if (want.data !== undefined) {
    expect(got.data !== undefined, "no data");
    expect(isDeepStrictEqual(JSON.parse(got.data.toString()), want.data), `data ${got.data}`);
  } else if (want.data_base64 !== undefined) {
    expect(got.data !== undefined, "no data");
    expect(Buffer.from(got.data).equals(Buffer.from(want.data_base64, "base64")), `data ${got.data}`);
  } else {
    expect(got.data === undefined, `unexpected data ${got.data}`);
  }
}

// toEncode turns a vector's event into what encodeStructured takes.
function toEncode(want) {
  const ev = { ...want, extensions: want.extensions ?? {} };
  delete ev.data_base64;
  if (want.data !== undefined) ev.data = JSON.stringify(want.data);
  else if (want.data_base64 !== undefined) ev.data = Buffer.from(want.data_base64, "base64");
  return ev;
}

for (const file of ENVELOPE_FILES) {
  for (const v of load(file)) {
    check(v.name, () => {
      const body = v.body !== undefined ? Buffer.from(v.body, "utf8") : Buffer.from(v.body_base64, "base64");
      let got;
      try {
        got = decode(v.headers, body);
      } catch (err) {
        expect(v.error !== undefined, `refused a valid message: ${err.message}`);
        expect(err.class === v.error, `class ${err.class}, want ${v.error}: ${err.message}`);
        return;
      }
      expect(v.error === undefined, `accepted an invalid message (want ${v.error})`);
      sameEvent(got, v.event);
      // Round trip through the structured encoder, unless the data cannot
      // be JSON although the content type says so.
      const ev = toEncode(v.event);
      const ct = ev.datacontenttype;
      if (ev.data instanceof Buffer && (!ct || isJSONContentType(ct))) return;
      sameEvent(decode(undefined, encodeStructured(ev)), v.event);
    });
  }
}

function nameClass(fn) {
  try {
    return { value: fn() };
  } catch (err) {
    if (!(err instanceof subjects.NameError)) throw err;
    return { error: err.reserved ? "reserved" : "invalid_name" };
  }
}

for (const v of load("duplicate-keys.json")) {
  check(v.name, () => {
    const key = subjects.duplicateKey(v.source, v.id);
    expect(key === v.key, `key ${key}, want ${v.key}`);
  });
}

for (const v of load("subjects.json")) {
  check(v.name, () => {
    let r;
    switch (v.op) {
      case "event":
        r = nameClass(() => subjects.subject(v.namespace ?? "", v.target ?? "", v.event ?? ""));
        if (!r.error) expect(r.value === v.subject, `subject ${r.value}`);
        break;
      case "request":
        r = nameClass(() => subjects.requestSubject(v.namespace ?? "", v.target ?? "", v.event ?? ""));
        if (!r.error) expect(r.value === v.subject, `subject ${r.value}`);
        break;
      case "listen":
        r = nameClass(() => {
          subjects.validateService(v.service);
          return {
            targeted: subjects.filter(v.namespace, v.service, v.event),
            broadcast: subjects.filter(v.namespace, subjects.BROADCAST, v.event),
            request: subjects.requestFilter(v.namespace, v.service, v.event),
            queue_group: subjects.queueGroup(v.service, v.event),
          };
        });
        if (!r.error) expect(isDeepStrictEqual(r.value, v.listen), `listen ${JSON.stringify(r.value)}`);
        break;
      case "parse":
        r = nameClass(() => subjects.parseSubject(v.subject));
        if (!r.error) expect(isDeepStrictEqual(r.value, { namespace: v.namespace, target: v.target, event: v.event }), `address ${JSON.stringify(r.value)}`);
        break;
      default:
        throw new Error(`unknown op ${v.op}`);
    }
    expect((r.error ?? "") === (v.error ?? ""), `error ${r.error}, want ${v.error}`);
  });
}

console.log(`conformance: ${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
