package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"time"
)

// LoginAndRollBack opens a session of userID in a transaction of s, as
// Login does, and rolls the transaction back. It returns the token the
// session would have had.
func (s *Service) LoginAndRollBack(ctx context.Context, userID string) (string, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	token := rand.Text()
	if err := s.login(ctx, tx, userID, token, time.Now()); err != nil {
		return "", errors.Join(err, tx.Rollback())
	}
	return token, tx.Rollback()
}

// SessionOf returns the ID of the session of token, as auth's events name
// it.
func (s *Service) SessionOf(ctx context.Context, token string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, "SELECT id FROM sessions WHERE token_hash = ?", tokenHash(token)).Scan(&id)
	return id, err
}
