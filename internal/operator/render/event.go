// Package render is how meshctl prints what it reads from the mesh: live
// events as lines or JSON lines (meshctl tail), an event's data on one
// line, dead letters as a table or in full (meshctl dlq), and the event
// stream's consumers as a table or in full (meshctl consumers, stats).
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
)

// tailed is a message as tail sees it.
type tailed struct {
	ev       codec.Event
	target   string
	replayed bool
	err      error
}

// decodeTailed decodes m and where it went.
func decodeTailed(m *nats.Msg) tailed {
	t := tailed{replayed: m.Header.Get(subjects.HeaderReplay) != "" || m.Header.Get(subjects.HeaderRedrive) != ""}
	if a, err := subjects.Parse(m.Subject); err == nil {
		t.target = a.Target
	}
	t.err = codec.DecodeMsg(m, &t.ev)
	return t
}

// Line prints m as one readable line.
func Line(out io.Writer, m *nats.Msg) error {
	t := decodeTailed(m)
	if t.err != nil {
		_, err := fmt.Fprintf(out, "%s  invalid message on %s: %v\n", time.Now().UTC().Format(time.RFC3339Nano), m.Subject, t.err)
		return err
	}
	mark := ""
	if t.replayed {
		mark = "  (replayed)"
	}
	ev := &t.ev
	_, err := fmt.Fprintf(out, "%s  %s -> %s  %s  id=%s  %s%s\n",
		ev.Time.UTC().Format(time.RFC3339Nano), ev.Source, t.target, ev.Type, ev.ID, Data(ev), mark)
	return err
}

// Data renders an event's data on one line: compact JSON, or its size and
// type.
func Data(ev *codec.Event) string {
	switch {
	case ev.Data == nil:
		return "-"
	case ev.DataIsJSON():
		var b bytes.Buffer
		if json.Compact(&b, ev.Data) == nil {
			return b.String()
		}
	}
	return fmt.Sprintf("<%d bytes of %s>", len(ev.Data), ev.DataContentType)
}

// JSONLine prints m as one JSON line.
func JSONLine(out io.Writer, m *nats.Msg) error {
	t := decodeTailed(m)
	var line any
	if t.err != nil {
		line = struct {
			Subject string `json:"subject"`
			Error   string `json:"error"`
		}{m.Subject, t.err.Error()}
	} else {
		event, err := codec.AppendStructured(nil, &t.ev)
		if err != nil {
			return err
		}
		line = struct {
			Subject  string          `json:"subject"`
			Target   string          `json:"target"`
			Replayed bool            `json:"replayed"`
			Event    json.RawMessage `json:"event"`
		}{m.Subject, t.target, t.replayed, event}
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	_, err = out.Write(append(b, '\n'))
	return err
}

// OneLine joins the lines of a multi-line message, so that every error and
// every reason is one line.
func OneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}
