package outbox

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// errNotPgx says the PostgreSQL driver is not pgx's: the relay then
// polls only.
var errNotPgx = errors.New("the database/sql driver is not github.com/jackc/pgx/v5/stdlib: no LISTEN, the relay polls every PollInterval")

// pgxConn is what pgx's database/sql connections offer (stdlib.Conn).
type pgxConn interface {
	Conn() *pgx.Conn
}

// listen wakes the relay on every notification of the service's inserts,
// on a connection of the pool held for it, until ctx ends. It connects
// again, with backoff, when the connection fails; polling covers the gap.
func (o *Outbox) listen(ctx context.Context) {
	b := backoff{min: o.cfg.MinBackoff, max: o.cfg.MaxBackoff}
	for {
		err := o.listenOnce(ctx, b.reset)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errNotPgx) {
			o.cfg.Logger.Info("outbox relay polls only", "reason", errNotPgx.Error())
			return
		}
		wait := b.next()
		o.cfg.Logger.Warn("outbox relay lost its LISTEN connection; polling meanwhile", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// listenOnce listens on one connection until it fails or ctx ends. The
// connection is then discarded, not returned to the pool with a LISTEN
// on it.
func (o *Outbox) listenOnce(ctx context.Context, listening func()) error {
	conn, err := o.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(pgxConn)
		if !ok {
			return errNotPgx
		}
		if _, err := pc.Conn().Exec(ctx, "LISTEN "+o.cfg.Table); err != nil {
			return fmt.Errorf("%w: LISTEN %s: %w", driver.ErrBadConn, o.cfg.Table, err)
		}
		listening()
		o.Notify() // what was committed before the LISTEN
		source := o.w.Service()
		for {
			n, err := pc.Conn().WaitForNotification(ctx)
			if err != nil {
				return fmt.Errorf("%w: %w", driver.ErrBadConn, err)
			}
			if n.Payload == source {
				o.Notify()
			}
		}
	})
}
