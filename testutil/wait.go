package testutil

import (
	"testing"
	"time"
)

// WaitUntil checks cond every 10 ms until it holds, and fails the test,
// naming what it waited for, if it does not within DefaultWait.
func WaitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(DefaultWait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("testutil: not within %s: %s", DefaultWait, what)
		}
		<-tick.C
	}
}
