package timeline

import (
	"context"
	"errors"
)

// CreateAndRollBack writes p and its events in a transaction of s, as
// CreatePost does, and rolls the transaction back.
func (s *Store) CreateAndRollBack(ctx context.Context, p Post) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := s.create(ctx, tx, p); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	return tx.Rollback()
}
