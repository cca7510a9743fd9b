package main

import (
	"fmt"
	"io"
	"time"

	"github.com/exprsn/ipcmesh/replay"
	"github.com/schollz/progressbar/v3"
)

// progressInterval is how often plain progress lines are printed.
const progressInterval = time.Second

// progressPrinter shows a replay's progress: a bar when out is a terminal,
// otherwise a line every progressInterval.
type progressPrinter struct {
	out   io.Writer
	label string
	tty   bool
	bar   *progressbar.ProgressBar
	last  time.Time
}

// newProgressPrinter returns a printer of progress labelled label on out.
func newProgressPrinter(out io.Writer, label string) *progressPrinter {
	return &progressPrinter{out: out, label: label, tty: isTerminal(out), last: time.Now()}
}

// update shows p; it is called after each event.
func (pp *progressPrinter) update(p replay.Progress) {
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
	if time.Since(pp.last) >= progressInterval {
		pp.last = time.Now()
		fmt.Fprintf(pp.out, "%s: matched %d (of at most %d), done %d, failed %d\n", pp.label, p.Matched, p.Total, p.Delivered, p.Failed)
	}
}

// finish ends the bar, if any.
func (pp *progressPrinter) finish() {
	if pp.bar != nil {
		_ = pp.bar.Finish()
		fmt.Fprintln(pp.out)
	}
}
