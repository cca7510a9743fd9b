package cesdk

import (
	"net/url"
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/exprsn/ipcmesh/codec"
)

// ToSDK converts ev to an sdk-go CloudEvents 1.0 event with the same
// attributes, extensions (as strings) and data. The result's DataEncoded is
// ev.Data itself, not a copy; DataBase64 is set for binary data (ev.DataBase64
// set) and for a content type that sdk-go does not treat as JSON, so that
// sdk-go writes the data bytes unchanged (as data_base64).
//
// It fails with a [*codec.Error] if ev is not valid (see
// [codec.Event.Validate]), or if Source or DataSchema would not read back
// unchanged from sdk-go's URI types ([codec.ErrInvalidAttribute]).
func ToSDK(ev *codec.Event) (event.Event, error) {
	if err := ev.Validate(); err != nil {
		return event.Event{}, err
	}
	src, err := parseURI("source", ev.Source)
	if err != nil {
		return event.Event{}, err
	}
	ctx := &event.EventContextV1{ID: ev.ID, Source: types.URIRef{URL: *src}, Type: ev.Type}
	if !ev.Time.IsZero() {
		ctx.Time = &types.Timestamp{Time: ev.Time}
	}
	if ev.DataContentType != "" {
		ct := ev.DataContentType
		ctx.DataContentType = &ct
	}
	if ev.DataSchema != "" {
		u, err := parseURI("dataschema", ev.DataSchema)
		if err != nil {
			return event.Event{}, err
		}
		ctx.DataSchema = &types.URI{URL: *u}
	}
	if ev.Subject != "" {
		subject := ev.Subject
		ctx.Subject = &subject
	}
	if len(ev.Extensions) > 0 {
		ctx.Extensions = make(map[string]any, len(ev.Extensions))
		for _, x := range ev.Extensions {
			ctx.Extensions[x.Name] = x.Value
		}
	}
	e := event.Event{Context: ctx}
	if ev.Data != nil {
		e.DataEncoded = ev.Data
		e.DataBase64 = ev.DataBase64 || !sdkTreatsAsJSON(ev.DataContentType)
	}
	return e, nil
}

// parseURI parses v as sdk-go does and checks that it prints back as v.
func parseURI(attr, v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil {
		return nil, codec.NewError(codec.ErrInvalidAttribute, attr, "not a URI reference: "+quote(v))
	}
	if u.String() != v {
		return nil, codec.NewError(codec.ErrInvalidAttribute, attr, quote(v)+" would become "+quote(u.String())+" in sdk-go")
	}
	return u, nil
}

// sdkTreatsAsJSON mirrors sdk-go's rule for writing "data" as JSON text: no
// content type, or one of four JSON media types, parameters ignored. Any
// other type (even with a +json suffix) it writes as a JSON string.
func sdkTreatsAsJSON(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case "", event.ApplicationJSON, event.TextJSON, event.ApplicationCloudEventsJSON, event.ApplicationCloudEventsBatchJSON:
		return true
	}
	return false
}

// FromSDK converts an sdk-go event to a codec.Event. The event must be a
// CloudEvents 1.0 event (else [codec.ErrSpecVersion]). Extension values
// become their canonical CloudEvents strings (an int32 42 becomes "42", a
// bool "true", a timestamp RFC 3339) and are sorted by name. Data is
// e.DataEncoded itself, not a copy. e.DataBase64 under a JSON (or no)
// content type, which sdk-go sets for data read from data_base64 and for
// bytes given to SetData, becomes codec.Event.DataBase64: the data is binary,
// as sdk-go would write it. Empty JSON data (not binary) is taken as absent.
//
// The result is validated as by [codec.Event.Validate]; on error the partly
// converted event is returned with a [*codec.Error]: for example, DataEncoded
// that is not JSON under a JSON (or no) content type without DataBase64
// ([codec.ErrInvalidData]).
func FromSDK(e event.Event) (codec.Event, error) {
	if e.Context == nil {
		return codec.Event{}, missing("specversion")
	}
	if sv := e.SpecVersion(); sv != codec.SpecVersion {
		return codec.Event{}, wrongSpecVersion(sv)
	}
	ctx := e.Context.AsV1()
	ev := codec.Event{ID: ctx.ID, Source: ctx.Source.String(), Type: ctx.Type}
	if ctx.Time != nil {
		ev.Time = ctx.Time.Time
	}
	if ctx.DataContentType != nil {
		ev.DataContentType = *ctx.DataContentType
	}
	if ctx.DataSchema != nil {
		ev.DataSchema = ctx.DataSchema.String()
	}
	if ctx.Subject != nil {
		ev.Subject = *ctx.Subject
	}
	if len(ctx.Extensions) > 0 {
		ev.Extensions = make([]codec.Extension, 0, len(ctx.Extensions))
		for name, v := range ctx.Extensions {
			s, err := types.Format(v)
			if err != nil {
				// sdk-go's error may hold the whole value: quoted, cut.
				return ev, codec.NewError(codec.ErrInvalidAttribute, name, "sdk-go extension value has no CloudEvents string form: "+quote(err.Error()))
			}
			ev.Extensions = append(ev.Extensions, codec.Extension{Name: name, Value: s})
		}
		slices.SortFunc(ev.Extensions, func(a, b codec.Extension) int { return strings.Compare(a.Name, b.Name) })
	}
	ev.Data = e.DataEncoded
	ev.DataBase64 = e.DataBase64 && dataIsJSON(ev.DataContentType)
	if len(ev.Data) == 0 && ev.DataIsJSON() {
		ev.Data = nil
	}
	return ev, ev.Validate()
}

// dataIsJSON reports whether data of content type ct travels as JSON text in
// "data" (true) or base64 in "data_base64" (false), as in package codec.
func dataIsJSON(ct string) bool {
	return ct == "" || codec.IsJSONContentType(ct)
}
