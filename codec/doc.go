// Package codec encodes CloudEvents 1.0 events on NATS messages and decodes
// them, as the CloudEvents NATS protocol binding defines it.
//
// An [Event] is a plain struct: the required attributes (ID, Source, Type),
// the optional ones (Time, DataContentType, DataSchema, Subject), the
// extension attributes as an ordered slice of name/value strings, and Data,
// the payload bytes (the JSON text itself for JSON content types).
//
// # Modes
//
// [Structured] mode, the default and the mesh's live path, puts the whole
// event in the message body as one JSON object (the JSON event format) and
// sets no header, because every header costs a NATS subscriber throughput.
// The envelope is written by a hand-made encoder ([AppendStructured]): fixed
// member order (specversion, id, source, type, time, datacontenttype,
// dataschema, subject, extensions, data), no whitespace, JSON data embedded
// as is, other data as data_base64. It makes no allocation when given a
// buffer with room, and its output is the wire contract, tested byte for
// byte.
//
// [Binary] mode, from the binding's draft, puts each attribute in a ce-<name>
// header (ce-id, ce-source, ..., ce-traceparent) with its value
// percent-encoded, datacontenttype in Content-Type (or, if it cannot be a
// header value as is, percent-encoded in ce-datacontenttype), and the data,
// untouched, in the body ([SetBinaryHeaders]). It costs a header per
// attribute on every message, so the mesh uses it only on request.
//
// [EncodeMsg] fills a nats.Msg in either mode; [DecodeMsg] and [Decode] read
// both.
//
// # Decoding tolerance
//
// The decoder accepts what real senders send. A message is in binary mode if
// it has a ce-specversion header, in any letter case (nats.Header does not
// canonicalise names, so the decoder compares them case-insensitively);
// otherwise it is in structured mode, with or without a Content-Type header
// (sdk-go's NATS sender sends none). In a structured body, members may come
// in any order with any JSON whitespace; null means absent; extension values
// may be strings, numbers or booleans (numbers and booleans keep their
// literal text); data may be any JSON value, or, for a content type that is
// not JSON, a JSON string holding the data (as sdk-go writes text/plain).
// Binary header values may be percent-encoded or, as older senders wrote
// them, quoted strings; datacontenttype may come in Content-Type or in
// ce-datacontenttype (which wins).
//
// The decoder is strict about everything else: the body must be exactly one
// JSON object with no duplicate members, every string must be valid UTF-8,
// specversion must be "1.0", id, source and type must be non-empty, time must
// be RFC 3339, extension names must be 1 to [MaxExtensionNameLen] lowercase
// ASCII letters and digits, at most [MaxExtensions] of them, and data and
// data_base64 exclude each other.
//
// # Binary data
//
// data_base64 is binary data whatever datacontenttype says, or if it is
// absent: the JSON event format (section 3.1) makes the member, not the
// content type, say so. An [Event] carries it as Data with
// [Event.DataBase64] set when the content type is absent or JSON (for any
// other type, data is binary anyway), and [Event.DataIsJSON] reports false:
// it is never taken for JSON, and is written again as data_base64. A
// binary-mode body that is not valid JSON under no (or a JSON) content type
// is binary data too. So every event the decoder accepts is valid: it
// encodes again in either mode, and decodes back with the same data bytes
// (JSON data loses only the whitespace around it; binary mode cannot mark
// data binary, so binary data that is valid JSON reads back as JSON).
//
// Decoding is cheap: attribute strings are substrings of one copy of the
// body, and JSON data is a sub-slice of the body found by a validating skip,
// never re-parsed. So a decoded Event's Data aliases the message body. A
// binary-mode body under no (or a JSON) content type is validated once, to
// tell JSON data from binary.
//
// All functions are safe for concurrent use; an Event must not be modified
// while it is being encoded.
//
// # Errors
//
// Every error about an event is an [*Error], which names the attribute and
// says what is wrong, and wraps one sentinel that classifies it:
// [ErrMalformed] (not a JSON object, truncated, trailing data, duplicate
// member), [ErrMissingAttribute], [ErrSpecVersion], [ErrInvalidUTF8],
// [ErrInvalidAttribute] and, on encode, [ErrInvalidData]. Test with
// errors.Is(err, codec.ErrSpecVersion) and read details with errors.As.
// An error quotes at most 64 bytes of any name or value from the message,
// so it stays small however big the message is.
//
// # sdk-go
//
// sdk-go's NATS protocol (protocol/nats/v2) sends and receives structured
// mode only: it reads everything this package writes in structured mode, but
// not binary mode.
//
// Package [github.com/exprsn/ipcmesh/codec/cesdk] converts an Event to and
// from github.com/cloudevents/sdk-go/v2 event.Event (cesdk.ToSDK,
// cesdk.FromSDK). This package does not import sdk-go, so neither do its
// importers.
package codec
