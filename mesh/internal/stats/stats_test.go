package stats

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/subjects"
)

const (
	maxEvents = 1000
	other     = "_other"
)

func TestStatsBoundEventNames(t *testing.T) {
	var s Counters
	s.Init(maxEvents, other)
	for i := range maxEvents + 50 {
		s.Received("event:" + strconv.Itoa(i))
	}
	s.Received("event:0")
	n := 0
	s.byEvent.Range(func(any, any) bool { n++; return true })
	if n != maxEvents+1 {
		t.Fatalf("%d event names kept, want %d plus %q", n, maxEvents, other)
	}
	o, _ := s.byEvent.Load(other)
	if got := o.(*eventCounters).received.Load(); got != 50 {
		t.Fatalf("%q counts %d events, want 50", other, got)
	}
	first, _ := s.byEvent.Load("event:0")
	if got := first.(*eventCounters).received.Load(); got != 2 {
		t.Fatalf("a known name keeps counting: got %d, want 2", got)
	}
}

func TestStatsKeepNoLongNames(t *testing.T) {
	var s Counters
	s.Init(maxEvents, other)
	long := strings.Repeat("a", subjects.MaxEventLen+1)
	for range 3 {
		s.Received(long)
	}
	if _, ok := s.byEvent.Load(long); ok {
		t.Fatalf("a type of %d bytes was kept as a stats key", len(long))
	}
	o, _ := s.byEvent.Load(other)
	if got := o.(*eventCounters).received.Load(); got != 3 {
		t.Fatalf("%q counts %d events, want 3", other, got)
	}
}

func TestStatsHandlerTimes(t *testing.T) {
	var s Counters
	s.Init(maxEvents, other)
	s.Handled("order:placed", 3*time.Millisecond)
	s.Failed("order:placed", 5*time.Millisecond)
	s.Handled("order:placed", time.Millisecond)
	e := s.Events()["order:placed"]
	if e.Handled != 2 || e.Failed != 1 || e.HandlerTime != 9*time.Millisecond || e.MaxHandlerTime != 5*time.Millisecond {
		t.Fatalf("got %+v; want 2 handled, 1 failed, 9ms in all, 5ms at most", e)
	}
}
