package inbound

import (
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/codec"
)

func TestData(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	for _, tc := range []struct {
		name  string
		ev    codec.Event
		fails bool
	}{
		{name: "JSON", ev: codec.Event{Type: "a:b", ID: "1", Data: []byte(`{"n":1}`)}},
		{name: "JSON content type", ev: codec.Event{Type: "a:b", ID: "1", DataContentType: "application/json", Data: []byte(`{"n":1}`)}},
		{name: "no data", ev: codec.Event{Type: "a:b", ID: "1"}, fails: true},
		{name: "binary content type", ev: codec.Event{Type: "a:b", ID: "1", DataContentType: "text/plain", Data: []byte(`{"n":1}`)}, fails: true},
		// data_base64 without a content type is binary, even when its
		// bytes happen to be JSON.
		{name: "data_base64", ev: codec.Event{Type: "a:b", ID: "1", DataBase64: true, Data: []byte(`{"n":1}`)}, fails: true},
		{name: "not the target type", ev: codec.Event{Type: long, ID: long, Data: []byte(`{"n":"` + long + `"}`)}, fails: true},
		{name: "huge number", ev: codec.Event{Type: long, ID: long, Data: []byte(`{"n":` + strings.Repeat("9", 100<<10) + `}`)}, fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v struct{ N int }
			err := Data(&tc.ev, &v)
			if (err != nil) != tc.fails {
				t.Fatalf("Data: %v, want failing %v", err, tc.fails)
			}
			if err == nil && v.N != 1 {
				t.Errorf("decoded %+v", v)
			}
			if err != nil && len(err.Error()) > 3*maxQuoted+200 {
				t.Errorf("an error of %d bytes quotes the event whole", len(err.Error()))
			}
		})
	}
}
