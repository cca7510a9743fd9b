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
	if isChild() {
		if err := childMain(); err != nil {
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
		t.Skip("starts four servers, three child processes and about 150 clients")
	}
	o := options{idle: 100 * time.Millisecond, rounds: 1, sizes: []int{256}, scale: 0.002, window: 256, latN: 20,
		only: regexp.MustCompile(""), cases: regexp.MustCompile(""), quiet: true, baseline: true}
	var out bytes.Buffer
	if err := run(o, &out); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	for _, want := range smokeRows() {
		line := ""
		for _, l := range strings.Split(table, "\n") {
			if strings.HasPrefix(l, want) {
				line = l
				break
			}
		}
		if line == "" {
			t.Errorf("no row %q in\n%s", want, table)
			continue
		}
		if cells := strings.Split(line, "|"); len(cells) < 5 || strings.TrimSpace(cells[4]) == "" || strings.Contains(line, "n/a") {
			t.Errorf("row %q has no figure: %s", want, line)
		}
	}
	if !strings.Contains(table, "Targets (issue 5)") {
		t.Errorf("no targets in\n%s", table)
	}
}

// smokeRows are the beginnings of the rows the smoke run must print: "|
// section | contender".
func smokeRows() []string {
	var rows []string
	add := func(section string, names ...string) {
		for _, n := range names {
			rows = append(rows, "| "+section+" | "+n)
		}
	}
	for _, c := range liveCases {
		add(sectionLive, c.name)
	}
	for _, c := range pubCases {
		add(sectionPublish, c.name)
	}
	for _, c := range consCases {
		add(sectionConsume, c.name)
	}
	for _, c := range reqCases {
		add(sectionRequest, c.name)
	}
	for _, c := range fanCases {
		add(sectionFan, c.name+", 10 services")
	}
	add(sectionHandlers, "mesh Emit -> 10 handler(s)")
	add(sectionMemory, "idle worker", "per event in flight")
	for _, c := range []string{liveRaw.name, liveFloor.name, liveMesh.name} {
		add(sectionPayloadsLive, c+" | 64 B", c+" | 64 KiB")
	}
	for _, c := range []string{pubRaw.name, pubFloor.name, pubMesh.name, pubBatchFloor.name, pubBatch.name} {
		add(sectionPayloadsPub, c+" | 64 B", c+" | 64 KiB")
	}
	add(sectionSubscribers, "raw nats.go core pub->sub, no other", "raw nats.go core pub->sub, 10 connections", "mesh Emit -> On, no other", "mesh Emit -> On, 10 services")
	for _, c := range consumersContenders {
		add(sectionConsumers, c.name+": register", c.name+": 10 at rest, client heap", c.name+": 10 at rest, CPU")
	}
	add(sectionClusterPub, pubRaw.name, pubFloor.name, pubMesh.name, pubBatchFloor.name, pubBatch.name)
	add(sectionClusterCons, consRaw.name, consFloor.name, consMesh.name)
	return rows
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
	for _, size := range []int{minPayload, 64, 159, 160, 256, 1024, 4096} {
		if got := len(payload(size)); got != size {
			t.Errorf("payload(%d) is %d bytes", size, got)
		}
	}
}
