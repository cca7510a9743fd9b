package stats

import (
	"encoding/json"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFitFoldsTheLeastActive(t *testing.T) {
	events := map[string]Event{other: {Received: 1}}
	for i := range 100 {
		events["event:"+strconv.Itoa(i)] = Event{Received: uint64(i), Emitted: 1, Handled: 2, Failed: 3,
			HandlerTime: time.Duration(i), MaxHandlerTime: time.Duration(i)}
	}
	var fitted map[string]Event
	body, err := Fit(events, Extra{}, other, 600, func(m map[string]Event, _ Extra) ([]byte, error) {
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
		sum.HandlerTime += e.HandlerTime
		sum.MaxHandlerTime = max(sum.MaxHandlerTime, e.MaxHandlerTime)
		if n, err := strconv.Atoi(name[len("event:"):]); name != other && (err != nil || n < 50) {
			t.Errorf("%q kept, while more active names were folded", name)
		}
	}
	if sum.Received != 1+99*100/2 || sum.Handled != 200 || sum.HandlerTime != 99*100/2 || sum.MaxHandlerTime != 99 {
		t.Fatalf("the folded counts do not add up: %+v", sum)
	}
}

func TestFitDropsTheLargestExportsFirst(t *testing.T) {
	events := map[string]Event{"order:placed": {Received: 1}}
	var exports Exports
	for name, size := range map[string]int{"small": 10, "medium": 300, "large": 600} {
		if _, err := exports.Add(name, func() any { return strings.Repeat("x", size) }, 16); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := exports.Add("panics", func() any { panic("boom") }, 16); err != nil {
		t.Fatal(err)
	}
	var got Extra
	body, err := Fit(events, exports.Collect(500, time.Second), other, 400, func(m map[string]Event, x Extra) ([]byte, error) {
		got = x
		return json.Marshal(struct {
			Events map[string]Event
			Extra  map[string]json.RawMessage
		}{m, x.Stats})
	})
	if err != nil || len(body) > 400 {
		t.Fatalf("Fit: %d bytes, %v; want at most 400", len(body), err)
	}
	// large is over Collect's 500 bytes, panics panicked, medium did not fit.
	if !slices.Equal(got.Dropped, []string{"large", "panics", "medium"}) || len(got.Stats) != 1 || got.Stats["small"] == nil {
		t.Fatalf("kept %v, dropped %v; want small kept, the others dropped", slices.Collect(maps.Keys(got.Stats)), got.Dropped)
	}
	if len(fittedEvents(t, body)) != 1 {
		t.Fatalf("the events were folded while exports were left: %s", body)
	}
}

func fittedEvents(t *testing.T, body []byte) map[string]Event {
	t.Helper()
	var v struct{ Events map[string]Event }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Events
}

func TestExportsRemoveAndBound(t *testing.T) {
	var exports Exports
	remove, err := exports.Add("a", func() any { return 1 }, 2)
	if err != nil {
		t.Fatal(err)
	}
	removeReplaced := remove
	if remove, err = exports.Add("a", func() any { return 2 }, 2); err != nil {
		t.Fatalf("replacing an export: %v", err)
	}
	if _, err := exports.Add("b", func() any { return 3 }, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := exports.Add("c", func() any { return 4 }, 2); err == nil {
		t.Fatal("a third export was taken, with at most 2")
	}
	removeReplaced()
	if got := string(exports.Collect(100, time.Second).Stats["a"]); got != "2" {
		t.Fatalf("a replaced export's remove removed its successor: a = %q", got)
	}
	remove()
	if x := exports.Collect(100, time.Second); len(x.Stats) != 1 || x.Stats["a"] != nil {
		t.Fatalf("after remove: %v", x.Stats)
	}
}

// An exporter that ends its goroutine, one that blocks, and one still
// blocked from the call before are left out; the others are kept, and
// Collect returns within its wait.
func TestCollectSurvivesExportersThatExitOrStall(t *testing.T) {
	var exports Exports
	block := make(chan struct{})
	defer close(block)
	for name, f := range map[string]func() any{
		"ok":      func() any { return 1 },
		"goexit":  func() any { runtime.Goexit(); return nil },
		"blocked": func() any { <-block; return 2 },
	} {
		if _, err := exports.Add(name, f, 16); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 2 {
		start := time.Now()
		x := exports.Collect(100, 50*time.Millisecond)
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("round %d: Collect took %v", round, took)
		}
		if string(x.Stats["ok"]) != "1" || len(x.Stats) != 1 {
			t.Errorf("round %d: kept %v, want ok alone", round, x.Stats)
		}
		if !slices.Equal(x.Dropped, []string{"blocked", "goexit"}) {
			t.Errorf("round %d: dropped %v, want blocked and goexit", round, x.Dropped)
		}
	}
}
