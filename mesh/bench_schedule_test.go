package mesh_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
)

// BenchmarkScheduledLateness schedules 10,000 events spread over 10 s
// (MESH_SCHEDULE_BENCH_N and _SPREAD change them) and reports how late a
// durable handler got them after their scheduled time, and that none was
// lost or doubled. It runs only with MESH_SCHEDULE_BENCH=1 (it takes about
// 15 s):
//
//	MESH_SCHEDULE_BENCH=1 go test -run '^$' -bench ScheduledLateness -benchtime 1x ./mesh/
func BenchmarkScheduledLateness(b *testing.B) {
	if os.Getenv("MESH_SCHEDULE_BENCH") == "" {
		b.Skip("set MESH_SCHEDULE_BENCH=1 to run")
	}
	n := envInt("MESH_SCHEDULE_BENCH_N", 10000)
	spread := time.Duration(envInt("MESH_SCHEDULE_BENCH_SPREAD", 10)) * time.Second
	for range b.N {
		late, lost, doubled := scheduleMany(b, n, spread)
		b.ReportMetric(float64(percentile(late, 50).Milliseconds()), "p50-late-ms")
		b.ReportMetric(float64(percentile(late, 99).Milliseconds()), "p99-late-ms")
		b.ReportMetric(float64(percentile(late, 100).Milliseconds()), "max-late-ms")
		b.ReportMetric(float64(lost), "lost")
		b.ReportMetric(float64(doubled), "doubled")
		if lost+doubled > 0 {
			b.Errorf("%d lost, %d doubled of %d", lost, doubled, n)
		}
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// scheduleMany schedules n events over spread, starting 2 s ahead, and
// returns the lateness of each one a durable handler got.
func scheduleMany(b *testing.B, n int, spread time.Duration) (late []time.Duration, lost, doubled int) {
	srv := testutil.StartServer(b, testutil.WithStreams())
	herald := testutil.Connect(b, srv, "exprsn-herald")
	var mu sync.Mutex
	seen := make(map[string]int, n)
	done := make(chan struct{})
	h := mesh.HandlerFunc(func(_ context.Context, ev *mesh.Event) error {
		now := time.Now()
		stamp, _ := ev.Extension("scheduledtime")
		at, _ := time.Parse(time.RFC3339Nano, stamp)
		mu.Lock()
		defer mu.Unlock()
		seen[ev.ID]++
		late = append(late, now.Sub(at))
		if len(late) == n {
			close(done)
		}
		return nil
	})
	if _, err := herald.OnDurable(context.Background(), "reminder:due", h, mesh.Concurrency(64)); err != nil {
		b.Fatal(err)
	}
	emitter := testutil.Connect(b, srv, "exprsn-timeline")
	start := time.Now().Add(2 * time.Second)
	ctx := context.Background()
	for i := range n {
		at := start.Add(spread * time.Duration(i) / time.Duration(n))
		if _, err := emitter.EmitAsync(ctx, "reminder:due", nil, mesh.At(at)); err != nil {
			b.Fatal(err)
		}
	}
	if err := emitter.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Until(start.Add(spread + 30*time.Second))):
	}
	mu.Lock()
	defer mu.Unlock()
	for _, k := range seen {
		doubled += k - 1
	}
	return slices.Clone(late), n - len(seen), doubled
}

// percentile returns the p-th percentile of ds (p = 100: the maximum).
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}
