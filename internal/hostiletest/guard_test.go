package hostiletest

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGuardKeysBySourceAndID: CloudEvents makes only the pair (source, id)
// unique, so the idempotency guard must skip a second event with the same
// source and id, and must not skip an event of another source that reuses
// the id; otherwise any publisher could suppress another service's events
// by sending their ids first.
func TestGuardKeysBySourceAndID(t *testing.T) {
	e := newEnv(t)
	tg := e.target(t, pathGuarded)
	raw := dialRaw(t, e.srv.URL())
	ok := variant{data: "ok"}
	first := event{id: "shared-id", source: "hostile-sender", typ: "hostile:event"}
	other := event{id: "shared-id", source: "exprsn-victim", typ: "hostile:event"}

	store := func(ev event) uint64 {
		t.Helper()
		seq, err := e.store(raw, tg.subject(ev.input(ok)), ev.input(ok))
		require.NoError(t, err)
		return seq
	}
	count := func(source string) int {
		n := 0
		for _, ev := range tg.received("shared-id") {
			if ev.Source == source {
				n++
			}
		}
		return n
	}
	settled := func(seq uint64) {
		t.Helper()
		eventually(t, "the event at stream sequence "+strconv.FormatUint(seq, 10)+" settled", func() (bool, string) {
			info, err := e.consumer(tg)
			if err != nil {
				return false, err.Error()
			}
			return info.Delivered.Stream >= seq && info.NumAckPending == 0, describeConsumer(info) + "; " + tg.state()
		})
	}

	store(first)
	eventually(t, "the first event handled", func() (bool, string) { return count(first.source) == 1, tg.state() })
	settled(store(first))
	require.Equal(t, 1, count(first.source), "a second event with the same source and id was handled again")
	require.NotZero(t, tg.w.Stats().Durable[tg.path.service()].Skipped)

	store(other)
	e.good(t, tg)
	require.Equal(t, 1, count(other.source),
		"the guard skipped an event of source %q because an event of source %q had the same id", other.source, first.source)
	e.idle(t, tg)
	tg.stillUp(t)
}
