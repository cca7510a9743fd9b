package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/outbox/internal/pgtest"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go/jetstream"
	_ "modernc.org/sqlite"
)

// pg is the PostgreSQL server the package's tests share, each with a
// database of its own; started by the first test that needs it.
var pg struct {
	once sync.Once
	s    *pgtest.Server
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pg.s != nil {
		if err := pg.s.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// backend is a database the tests run against.
type backend struct {
	name string
	open func(t testing.TB) *sql.DB
}

var backends = []backend{{"sqlite", openSQLite}, {"postgresql", openPostgres}}

// openSQLite opens a database file as applications should (SQLiteDSN),
// with synchronous=NORMAL besides, for the tests' speed.
func openSQLite(t testing.TB) *sql.DB {
	db, err := sql.Open("sqlite", SQLiteDSN(filepath.Join(t.TempDir(), "app.db"))+"&_pragma=synchronous(NORMAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgres(t testing.TB) *sql.DB {
	t.Helper()
	pg.once.Do(func() { pg.s, pg.err = pgtest.New() })
	pgtest.Check(t, pg.err)
	return pg.s.NewDatabase(t)
}

// eachBackend runs f as a subtest per database.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// fixture is an embedded server with streams, a worker, a database and
// its outbox.
type fixture struct {
	srv *testutil.Server
	w   *mesh.Worker
	db  *sql.DB
	o   *Outbox
}

// testConfig is quick to notice failures and to take a lease over.
func testConfig() Config {
	return Config{PollInterval: 200 * time.Millisecond, PublishTimeout: time.Second,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, LeaseTTL: 2 * time.Second}
}

func newFixture(t testing.TB, b backend) *fixture {
	t.Helper()
	f := &fixture{srv: testutil.StartServer(t, testutil.WithStreams())}
	f.w = testutil.Connect(t, f.srv, "exprsn-shop")
	f.db = b.open(t)
	f.o = f.outbox(t, testConfig())
	return f
}

// outbox returns another Outbox of the fixture's service and database, as
// another process would have, closed in t.Cleanup.
func (f *fixture) outbox(t testing.TB, cfg Config) *Outbox {
	t.Helper()
	o, err := New(ctxFor(t), f.db, f.w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := o.Close(ctxFor(t)); err != nil {
			t.Error(err)
		}
	})
	return o
}

// ctxFor is a context bounded by testutil.DefaultWait and the test.
func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	t.Cleanup(cancel)
	return ctx
}

// commit commits one transaction per event, each emitting "order:placed"
// with data i and id "evt-<i>", for i in [from, to).
func commit(t testing.TB, db *sql.DB, o *Outbox, from, to int) {
	t.Helper()
	ctx := ctxFor(t)
	for i := from; i < to; i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Emit(ctx, tx, "order:placed", i, mesh.WithID("evt-"+strconv.Itoa(i))); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if err := o.Commit(tx); err != nil {
			t.Fatal(err)
		}
	}
}

// runRelay runs o's relay until the returned stop is called or the test
// ends; stop returns Run's error.
func runRelay(t testing.TB, o *Outbox) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(testutil.DefaultWait):
				err = fmt.Errorf("relay did not stop within %s", testutil.DefaultWait)
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// stored is an event as the stream holds it.
type stored struct {
	ID   string `json:"id"`
	Data int    `json:"data"`
	Seq  uint64 `json:"-"`
}

// waitStored waits until the event stream holds at least n events, and
// returns them all in stream order.
func waitStored(t testing.TB, w *mesh.Worker, n int) []stored {
	t.Helper()
	ctx := ctxFor(t)
	stream, err := w.JetStream().Stream(ctx, subjects.EventStream(w.Namespace()))
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatalf("stream info (waiting for %d events): %v", n, err)
		}
		if info.State.Msgs >= uint64(n) {
			return readAll(t, ctx, stream, info.State.LastSeq)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the stream holds %d events, want %d", info.State.Msgs, n)
		case <-tick.C:
		}
	}
}

func readAll(t testing.TB, ctx context.Context, stream jetstream.Stream, last uint64) []stored {
	t.Helper()
	var out []stored
	for seq := uint64(1); seq <= last; seq++ {
		msg, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get stream message %d: %v", seq, err)
		}
		var s stored
		if err := json.Unmarshal(msg.Data, &s); err != nil {
			t.Fatalf("stream message %d: %v", seq, err)
		}
		s.Seq = seq
		out = append(out, s)
	}
	return out
}

// checkOnceInOrder checks that the stream holds the events 0..n-1, each
// once, in that order.
func checkOnceInOrder(t testing.TB, got []stored, n int) {
	t.Helper()
	if len(got) != n {
		t.Errorf("the stream holds %d events, want %d", len(got), n)
	}
	count := map[string]int{}
	for i, s := range got {
		count[s.ID]++
		if s.ID != "evt-"+strconv.Itoa(s.Data) {
			t.Errorf("stream sequence %d: id %s with data %d", s.Seq, s.ID, s.Data)
		}
		if i > 0 && s.Data <= got[i-1].Data {
			t.Errorf("stream sequence %d holds event %d after %d: out of commit order", s.Seq, s.Data, got[i-1].Data)
		}
	}
	for id, c := range count {
		if c != 1 {
			t.Errorf("event %s stored %d times", id, c)
		}
	}
}

// insertRow writes a row by hand, as an operator (or anyone with the
// database) could, bypassing Emit.
func insertRow(t testing.TB, db *sql.DB, b backend, source, id, event, subject, header string, data []byte) {
	t.Helper()
	q := "INSERT INTO " + DefaultTable + " (source, event_id, event, subject, header, data, created_us) VALUES (?, ?, ?, ?, ?, ?, ?)"
	if b.name == "postgresql" {
		q = dollars(q)
	}
	if data == nil {
		data = []byte{}
	}
	if _, err := db.ExecContext(ctxFor(t), q, source, id, event, subject, header, data, time.Now().UnixMicro()); err != nil {
		t.Fatal(err)
	}
}

// deleteRow deletes by hand the rows with event id id, and wakes o's
// relay.
func deleteRow(t testing.TB, db *sql.DB, b backend, o *Outbox, id string) {
	t.Helper()
	q := "DELETE FROM " + DefaultTable + " WHERE event_id = ?"
	if b.name == "postgresql" {
		q = dollars(q)
	}
	if _, err := db.ExecContext(ctxFor(t), q, id); err != nil {
		t.Fatal(err)
	}
	o.Notify()
}

// relayWithLogs returns another Outbox of the fixture with cfg, its logs
// going to the returned buffer, and its relay running.
func relayWithLogs(t *testing.T, f *fixture, cfg Config) (*Outbox, *testutil.Buffer) {
	t.Helper()
	var logs testutil.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	o := f.outbox(t, cfg)
	runRelay(t, o)
	return o, &logs
}

// checkBounded checks that o's Stats.LastError and every line of its
// relay's logs stay bounded, whatever the rows held.
func checkBounded(t *testing.T, o *Outbox, logs *testutil.Buffer) {
	t.Helper()
	if s := o.Stats(); len(s.LastError) > maxErrorText {
		t.Errorf("Stats.LastError is %d bytes, want at most %d: %.200q...", len(s.LastError), maxErrorText, s.LastError)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if len(line) > 2*maxErrorText {
			t.Errorf("a relay log line is %d bytes: %.200q...", len(line), line)
			break
		}
	}
}

// waitFailure waits until o's relay reports a failure, and returns its
// Stats then.
func waitFailure(t *testing.T, o *Outbox) Stats {
	t.Helper()
	testutil.WaitUntil(t, "the relay reports a failure", func() bool { return o.Stats().Failures > 0 })
	return o.Stats()
}
