// Package progress shows the progress of a long run over stored events
// (meshctl replay): a bar on a terminal, otherwise a line every Interval.
package progress

import (
	"fmt"
	"io"
	"time"

	"github.com/exprsn/ipcmesh/replay"
	"github.com/schollz/progressbar/v3"
)

// Interval is how often plain progress lines are printed.
const Interval = time.Second

// Printer shows a replay's progress: a bar when out is a terminal (New
// is told so), otherwise a line every Interval.
type Printer struct {
	out   io.Writer
	label string
	tty   bool
	bar   *progressbar.ProgressBar
	last  time.Time
}

// New returns a printer of progress labelled label on out, which draws a
// bar if tty (out is a terminal) and prints lines otherwise.
func New(out io.Writer, label string, tty bool) *Printer {
	return &Printer{out: out, label: label, tty: tty, last: time.Now()}
}

// Update shows p; it is called after each event.
func (pp *Printer) Update(p replay.Progress) {
	if pp.tty {
		if pp.bar == nil {
			pp.bar = progressbar.NewOptions64(int64(p.Total),
				progressbar.OptionSetWriter(pp.out),
				progressbar.OptionSetDescription(pp.label),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("events"),
				progressbar.OptionThrottle(100*time.Millisecond))
		}
		_ = pp.bar.Set64(int64(p.Matched))
		return
	}
	if time.Since(pp.last) >= Interval {
		pp.last = time.Now()
		fmt.Fprintf(pp.out, "%s: matched %d (of at most %d), done %d, failed %d\n", pp.label, p.Matched, p.Total, p.Delivered, p.Failed)
	}
}

// Finish ends the bar, if any.
func (pp *Printer) Finish() {
	if pp.bar != nil {
		_ = pp.bar.Finish()
		fmt.Fprintln(pp.out)
	}
}
