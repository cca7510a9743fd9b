package durable

import (
	"slices"
	"strconv"
	"strings"

	"github.com/exprsn/ipcmesh/internal/errtext"
)

// BatchError says which events of a batch failed, by index, and why:
// "mesh: batch: event <index>: <error>; ...".
func BatchError(failed map[int]error) string {
	var b strings.Builder
	b.WriteString("mesh: batch: ")
	for n, i := range indexes(failed) {
		if n > 0 {
			b.WriteString("; ")
		}
		b.WriteString("event " + strconv.Itoa(i) + ": " + errtext.Of(failed[i], maxReasonLen))
	}
	return b.String()
}

// BatchErrors returns the errors of a batch's failed events, in index
// order.
func BatchErrors(failed map[int]error) []error {
	idx := indexes(failed)
	errs := make([]error, len(idx))
	for n, i := range idx {
		errs[n] = failed[i]
	}
	return errs
}

// indexes returns the indexes of the failed events, in order.
func indexes(failed map[int]error) []int {
	idx := make([]int, 0, len(failed))
	for i, err := range failed {
		if err != nil {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	return idx
}
