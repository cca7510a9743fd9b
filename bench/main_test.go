package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if isMemChild() {
		if err := memChildMain(); err != nil {
			fatal(err)
		}
		return
	}
	os.Exit(m.Run())
}

// TestSmoke runs every section with a few messages and checks that the
// table has a row with a figure for every contender.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and about 40 clients")
	}
	o := options{rounds: 1, sizes: []int{256}, scale: 0.002, window: 256, latN: 20,
		only: regexp.MustCompile(""), cases: regexp.MustCompile(""), quiet: true, baseline: true}
	var out bytes.Buffer
	if err := run(o, &out); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	var names []string
	for _, c := range liveCases {
		names = append(names, c.name)
	}
	for _, c := range pubCases {
		names = append(names, c.name)
	}
	for _, c := range consCases {
		names = append(names, c.name)
	}
	for _, c := range reqCases {
		names = append(names, c.name)
	}
	for _, c := range fanCases {
		names = append(names, c.name+", 10 services")
	}
	names = append(names, "mesh Emit -> 10 handler(s)", "idle worker", "per event in flight")
	for _, name := range names {
		line := ""
		for _, l := range strings.Split(table, "\n") {
			if strings.Contains(l, "| "+name) {
				line = l
				break
			}
		}
		if line == "" {
			t.Errorf("no row for %q in\n%s", name, table)
			continue
		}
		if cells := strings.Split(line, "|"); len(cells) < 5 || strings.TrimSpace(cells[4]) == "" || strings.Contains(line, "n/a") {
			t.Errorf("row for %q has no figure: %s", name, line)
		}
	}
	if !strings.Contains(table, "Targets (issue 5)") {
		t.Errorf("no targets in\n%s", table)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		{name: "empty", xs: nil, want: 0},
		{name: "odd", xs: []float64{3, 1, 2}, want: 2},
		{name: "even", xs: []float64{4, 1, 3, 2}, want: 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.xs); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 50}, {0.99, 99}, {1, 100}, {0, 1}}
	for _, tt := range tests {
		if got := percentile(ds, tt.q); got != tt.want {
			t.Errorf("percentile(1..100, %v) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func TestPayload(t *testing.T) {
	for _, size := range []int{160, 256, 1024, 4096} {
		if got := len(payload(size)); got != size {
			t.Errorf("payload(%d) is %d bytes", size, got)
		}
	}
}
