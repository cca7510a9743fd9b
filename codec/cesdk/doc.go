// Package cesdk converts between codec.Event and cloudevents sdk-go's
// event.Event (github.com/cloudevents/sdk-go/v2/event): [ToSDK] and
// [FromSDK].
//
// It is a package of its own so that package codec, and so every importer of
// the mesh, does not depend on sdk-go (and, through it, on json-iterator and
// reflect2); import it only where sdk-go events are needed.
//
// sdk-go's NATS protocol (protocol/nats/v2) sends and receives structured
// mode only: it reads everything package codec writes in structured mode,
// but not binary mode.
//
// Errors are those of package codec: every error about an event is a
// [*codec.Error] wrapping one of codec's sentinels (codec.ErrSpecVersion,
// ...), so errors.Is and errors.As work as they do on codec's own errors.
package cesdk
