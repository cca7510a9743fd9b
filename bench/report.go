package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// sample is one round of one contender.
type sample struct {
	rate     float64 // messages (or requests, or deliveries) per second
	p50, p99 time.Duration
	extra    float64 // emits per second, for fan-out
}

// row is one line of the table: a contender at one payload size, with its
// samples over the rounds.
type row struct {
	section  string
	name     string
	size     int
	note     string
	base     *row // the baseline its ratio is to; nil for a baseline
	baseline bool
	latency  bool     // p50 and p99 are meaningful
	extra    string   // what sample.extra counts, if anything
	text     string   // a value for rows that are not a rate (memory)
	value    int64    // the number behind text
	err      error    // the contender could not run
	retried  []string // why rounds had to be measured again
	samples  []sample
}

func (r *row) rate() float64 {
	xs := make([]float64, len(r.samples))
	for i, s := range r.samples {
		xs[i] = s.rate
	}
	return median(xs)
}

func (r *row) medianOf(f func(sample) float64) float64 {
	xs := make([]float64, len(r.samples))
	for i, s := range r.samples {
		xs[i] = f(s)
	}
	return median(xs)
}

func (r *row) p50() time.Duration {
	return time.Duration(r.medianOf(func(s sample) float64 { return float64(s.p50) }))
}

func (r *row) p99() time.Duration {
	return time.Duration(r.medianOf(func(s sample) float64 { return float64(s.p99) }))
}

// ratio is the median over the rounds of the row's rate over its
// baseline's in the same round (the two ran minutes apart at most, so the
// pairing cancels much of the noise of a shared machine); NaN without a
// baseline.
func (r *row) ratio() float64 {
	switch {
	case r.baseline:
		return 1
	case r.base == nil:
		return math.NaN()
	}
	return pairedRatio(r, r.base)
}

// pairedRatio is the median over the rounds both rows ran of a's rate over
// b's.
func pairedRatio(a, b *row) float64 {
	if a == nil || b == nil {
		return math.NaN()
	}
	n := min(len(a.samples), len(b.samples))
	if n == 0 {
		return math.NaN()
	}
	xs := make([]float64, n)
	for i := range n {
		xs[i] = a.samples[i].rate / b.samples[i].rate
	}
	return median(xs)
}

// report is the table being filled.
type report struct {
	rows []*row
}

func (rp *report) add(r *row) *row {
	rp.rows = append(rp.rows, r)
	return r
}

// find returns the row of section whose name starts with prefix, at size.
func (rp *report) find(section, prefix string, size int) *row {
	for _, r := range rp.rows {
		if r.section == section && strings.HasPrefix(r.name, prefix) && r.size == size {
			return r
		}
	}
	return nil
}

func formatRate(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e4:
		return fmt.Sprintf("%.0fk", x/1e3)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

func formatDur(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

// write prints the table as Markdown.
func (rp *report) write(w io.Writer) {
	fmt.Fprintln(w, "| path | contender | payload | per second | ratio | p50 | p99 | notes |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---|")
	for _, r := range rp.rows {
		if r.err == nil && r.text == "" && len(r.samples) == 0 {
			continue // not run (-only, -case)
		}
		size := ""
		if r.size > 0 {
			size = sizeName(r.size)
		}
		notes := []string{}
		if r.note != "" {
			notes = append(notes, r.note)
		}
		rate, ratio, p50, p99 := "", "", "", ""
		switch {
		case r.err != nil:
			rate = "n/a"
			notes = append(notes, "not run: "+r.err.Error())
		case r.text != "":
			rate = r.text
		case len(r.samples) > 0:
			rate = formatRate(r.rate())
			if x := r.ratio(); !math.IsNaN(x) {
				ratio = fmt.Sprintf("%.2f", x)
			}
			if r.latency {
				p50, p99 = formatDur(r.p50()), formatDur(r.p99())
				if r.base != nil && len(r.base.samples) > 0 && r.section == sectionRequest {
					notes = append(notes, fmt.Sprintf("p50 ×%.2f, p99 ×%.2f of raw",
						float64(r.p50())/float64(r.base.p50()), float64(r.p99())/float64(r.base.p99())))
				}
			}
			if r.extra != "" {
				notes = append(notes, fmt.Sprintf("%s %s", formatRate(r.medianOf(func(s sample) float64 { return s.extra })), r.extra))
			}
		}
		if len(r.retried) > 0 {
			notes = append(notes, fmt.Sprintf("%d round(s) measured again after: %s", len(r.retried), strings.Join(r.retried, "; ")))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.section, r.name, size, rate, ratio, p50, p99, strings.Join(notes, "; "))
	}
}
