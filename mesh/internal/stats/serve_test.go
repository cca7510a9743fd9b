package stats

import (
	"encoding/json"
	"strconv"
	"testing"
)

func TestFitFoldsTheLeastActive(t *testing.T) {
	events := map[string]Event{other: {Received: 1}}
	for i := range 100 {
		events["event:"+strconv.Itoa(i)] = Event{Received: uint64(i), Emitted: 1, Handled: 2, Failed: 3}
	}
	var fitted map[string]Event
	body, err := Fit(events, other, 600, func(m map[string]Event) ([]byte, error) {
		fitted = m
		return json.Marshal(m)
	})
	if err != nil || len(body) > 600 {
		t.Fatalf("Fit: %d bytes, %v; want at most 600", len(body), err)
	}
	if len(events) != 101 {
		t.Fatalf("Fit changed its argument: %d names left", len(events))
	}
	var sum Event
	for name, e := range fitted {
		sum.Received += e.Received
		sum.Handled += e.Handled
		if n, err := strconv.Atoi(name[len("event:"):]); name != other && (err != nil || n < 50) {
			t.Errorf("%q kept, while more active names were folded", name)
		}
	}
	if sum.Received != 1+99*100/2 || sum.Handled != 200 {
		t.Fatalf("the folded counts do not add up: %+v", sum)
	}
}
