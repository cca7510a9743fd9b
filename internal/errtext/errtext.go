// Package errtext turns errors that come from code the mesh does not
// control (handlers, their middleware, errors wrapping what a sender sent)
// into text the mesh logs, reports, answers and stores: bounded in length,
// and never a panic, even from a typed nil pointer or an Error method that
// panics.
package errtext

import (
	"fmt"

	"github.com/exprsn/ipcmesh/internal/headers"
)

// Of returns err's message cut to at most n bytes, at a UTF-8 boundary;
// "<nil>" for a nil err. When err's Error method panics, it returns what
// it can say instead: the error's type and the panic's value.
func Of(err error, n int) (text string) {
	if err == nil {
		return "<nil>"
	}
	defer func() {
		if v := recover(); v != nil {
			text = headers.Truncate(fmt.Sprintf("%T (its Error method panicked: %v)", err, v), n)
		}
	}()
	return headers.Truncate(err.Error(), n)
}

// Cut returns err with its message cut as Of cuts it; errors.Is and
// errors.As still see err itself. Cut(nil, n) is nil.
func Cut(err error, n int) error {
	if err == nil {
		return nil
	}
	return cut{err: err, n: n}
}

type cut struct {
	err error
	n   int
}

func (c cut) Error() string { return Of(c.err, c.n) }
func (c cut) Unwrap() error { return c.err }
