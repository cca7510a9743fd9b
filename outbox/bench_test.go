package outbox

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
)

// BenchmarkEmit compares an event emitted through the outbox (a
// transaction with the Emit, committed, the relay running) with a direct
// Emit that waits for the stream's acknowledgement.
func BenchmarkEmit(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		f := newFixture(b, backends[0])
		ctx := ctxFor(b)
		for i := 0; b.Loop(); i++ {
			if err := f.w.Emit(ctx, "order:placed", i); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			f := newFixture(b, be)
			runRelay(b, f.o)
			ctx := ctxFor(b)
			for i := 0; b.Loop(); i++ {
				tx, err := f.db.BeginTx(ctx, nil)
				if err == nil {
					err = f.o.Emit(ctx, tx, "order:placed", i)
				}
				if err == nil {
					err = f.o.Commit(tx)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkCommitToHandler measures the time from a transaction's Commit
// (the call, the commit itself included) to a live handler receiving its
// event through the relay, one event at a time.
func BenchmarkCommitToHandler(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			f := newFixture(b, be)
			runRelay(b, f.o)
			ctx := ctxFor(b)
			got := make(chan time.Time, 1)
			if _, err := f.w.On(ctx, "order:placed", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
				got <- time.Now()
				return nil
			})); err != nil {
				b.Fatal(err)
			}
			var latencies []time.Duration
			for i := 0; b.Loop(); i++ {
				tx, err := f.db.BeginTx(ctx, nil)
				if err == nil {
					err = f.o.Emit(ctx, tx, "order:placed", i, mesh.WithID("evt-"+strconv.Itoa(i)))
				}
				if err != nil {
					b.Fatal(err)
				}
				// From the call to Commit: the relay may see the row
				// before Commit returns.
				committed := time.Now()
				if err := f.o.Commit(tx); err != nil {
					b.Fatal(err)
				}
				select {
				case at := <-got:
					latencies = append(latencies, at.Sub(committed))
				case <-ctx.Done():
					b.Fatal("no event")
				}
			}
			slices.Sort(latencies)
			b.ReportMetric(ms(latencies[len(latencies)/2]), "p50-ms")
			b.ReportMetric(ms(latencies[len(latencies)*99/100]), "p99-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
