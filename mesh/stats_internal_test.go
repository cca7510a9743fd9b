package mesh

import (
	"strconv"
	"testing"
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

func TestStatsDroppedNeverGoesDown(t *testing.T) {
	var s stats
	a, b := new(int), new(int)
	s.setDropped(a, 10)
	s.setDropped(b, 3)
	s.setDropped(a, 12)
	if got := s.dropped.Load(); got != 15 {
		t.Fatalf("dropped = %d, want the sum 15", got)
	}
}
