package mesh

import (
	"strconv"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/subjects"
)

func TestStatsBoundEventNames(t *testing.T) {
	var s stats
	for i := range MaxStatsEvents + 50 {
		s.received("event:" + strconv.Itoa(i))
	}
	s.received("event:0")
	n := 0
	s.byEvent.Range(func(any, any) bool { n++; return true })
	if n != MaxStatsEvents+1 {
		t.Fatalf("%d event names kept, want %d plus %q", n, MaxStatsEvents, OtherEvents)
	}
	other, _ := s.byEvent.Load(OtherEvents)
	if got := other.(*eventCounters).received.Load(); got != 50 {
		t.Fatalf("%q counts %d events, want 50", OtherEvents, got)
	}
	first, _ := s.byEvent.Load("event:0")
	if got := first.(*eventCounters).received.Load(); got != 2 {
		t.Fatalf("a known name keeps counting: got %d, want 2", got)
	}
}

func TestStatsKeepNoLongNames(t *testing.T) {
	var s stats
	long := strings.Repeat("a", subjects.MaxEventLen+1)
	for range 3 {
		s.received(long)
	}
	if _, ok := s.byEvent.Load(long); ok {
		t.Fatalf("a type of %d bytes was kept as a stats key", len(long))
	}
	other, _ := s.byEvent.Load(OtherEvents)
	if got := other.(*eventCounters).received.Load(); got != 3 {
		t.Fatalf("%q counts %d events, want 3", OtherEvents, got)
	}
}
