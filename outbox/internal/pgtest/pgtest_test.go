package pgtest_test

import (
	"context"
	"testing"

	"github.com/exprsn/ipcmesh/outbox/internal/pgtest"
)

func TestStartAndNewDatabase(t *testing.T) {
	s := pgtest.Start(t)
	a, b := s.NewDatabase(t), s.NewDatabase(t)
	ctx := context.Background()
	if _, err := a.ExecContext(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	var n int
	err := b.QueryRowContext(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("databases are not apart: %d tables, %v", n, err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}
