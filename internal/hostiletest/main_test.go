package hostiletest

import (
	"flag"
	"os"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/testutil"
)

// patience bounds every wait for a condition: testutil.DefaultWait, or 8s
// when fuzzing, where the fuzzer takes an input running over 10s for a
// hang and then no longer says what the test waited for.
var patience = testutil.DefaultWait

// TestMain shortens the waits when fuzzing (see patience). It also bounds
// the fuzzer's minimization of each new input to 20 runs (the default is
// up to 60 seconds) unless -fuzzminimizetime is given: the embedded server
// runs in the fuzzed binary, and its goroutines make coverage differ from
// run to run, so the fuzzer sees a "new" input every few runs; minimizing
// each for up to a minute, it ran a few dozen inputs in 20 seconds instead
// of a few thousand.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		patience = 8 * time.Second
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.fuzzminimizetime" })
	if !set {
		if err := flag.Set("test.fuzzminimizetime", "20x"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
