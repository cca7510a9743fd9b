package main

import (
	"fmt"
	"io"
	"strings"
)

// targets prints issue 5's targets, for the first payload size, and
// whether this run meets them.
func targets(w io.Writer, rp *report, o options) {
	size := o.sizes[0]
	fmt.Fprintf(w, "Targets (issue 5), %s payloads:\n", sizeName(size))
	check := func(what string, ok bool, detail string) { checkLine(w, what, ok, detail) }
	ratio := pairedRatio
	if raw, m, sdk := rp.find(sectionLive, "raw nats.go core pub", size), rp.find(sectionLive, "mesh Emit -> On, structured", size),
		rp.find(sectionLive, "cloudevents", size); m != nil && len(m.samples) > 0 {
		r1, r2 := ratio(m, raw), ratio(m, sdk)
		check("live emit -> handler >= 0.6 of raw core", r1 >= 0.6, fmt.Sprintf("%.2f", r1))
		check("live emit -> handler >= 6x sdk-go protocol/nats", r2 >= 6, fmt.Sprintf("%.1fx", r2))
	}
	if raw, m, wm := rp.find(sectionPublish, "raw jetstream PublishAsync, all", size), rp.find(sectionPublish, "mesh", size),
		rp.find(sectionPublish, "watermill", size); m != nil && len(m.samples) > 0 {
		r1, r2 := ratio(m, raw), ratio(m, wm)
		check("durable async emit >= 0.9 of raw PublishAsync", r1 >= 0.9, fmt.Sprintf("%.2f", r1))
		check("durable async emit >= 8x watermill-nats publish", r2 >= 8, fmt.Sprintf("%.1fx", r2))
		if b := rp.find(sectionPublish, pubBatch.name, size); b != nil && len(b.samples) > 0 {
			r := ratio(b, raw)
			check("durable batch emit >= 1.0 of raw PublishAsync (issue 18)", r >= 1, fmt.Sprintf("%.2f", r))
		}
	}
	if raw, m, wm := rp.find(sectionConsume, "raw", size), rp.find(sectionConsume, "mesh", size),
		rp.find(sectionConsume, "watermill", size); m != nil && len(m.samples) > 0 {
		r1, r2 := ratio(m, raw), ratio(m, wm)
		check("durable handler >= 0.9 of raw Consume+Ack", r1 >= 0.9, fmt.Sprintf("%.2f", r1))
		check("durable handler >= 8x watermill-nats subscribe", r2 >= 8, fmt.Sprintf("%.1fx", r2))
	}
	if raw, m := rp.find(sectionRequest, "raw", size), rp.find(sectionRequest, "mesh", size); raw != nil && m != nil && len(m.samples) > 0 && len(raw.samples) > 0 {
		a, b := float64(m.p50())/float64(raw.p50()), float64(m.p99())/float64(raw.p99())
		check("request/reply p50 and p99 within 1.2x of raw", a <= 1.2 && b <= 1.2, fmt.Sprintf("p50 ×%.2f, p99 ×%.2f", a, b))
	}
	// Fan-out scales as the bytes do when the deliveries per second hold as
	// services are added: each delivery costs the same, so the cost grows
	// with the bytes delivered. Raw NATS does better than that (the server
	// writes one published message to many subscribers at little extra
	// cost); the detail gives the mesh's ratio to it.
	for _, sz := range o.sizes {
		first, last := fanServices[0], fanServices[len(fanServices)-1]
		meshName := func(n int) string { return fmt.Sprintf("%s, %d services", fanCases[1].name, n) }
		rawName := func(n int) string { return fmt.Sprintf("%s, %d services", fanCases[0].name, n) }
		m1, m10 := rp.find(sectionFan, meshName(first), sz), rp.find(sectionFan, meshName(last), sz)
		held := ratio(m10, m1)
		check(fmt.Sprintf("fan-out, %s: mesh deliveries/s at %d services x %d hold at >= 0.8 of %d x %d (cost grows as the bytes delivered do)",
			sizeName(sz), last, instancesPerService, first, instancesPerService), held >= 0.8,
			fmt.Sprintf("%.2f; mesh/raw %.2f at %d, %.2f at %d", held,
				ratio(m10, rp.find(sectionFan, rawName(last), sz)), last, ratio(m1, rp.find(sectionFan, rawName(first), sz)), first))
	}
	for _, r := range rp.rows {
		if r.section == sectionMemory && r.size == 0 {
			check(fmt.Sprintf("memory: idle worker with %d handlers under 10 MiB of heap above the process baseline", memHandlers),
				r.value < 10<<20, r.text)
		}
	}
	fmt.Fprintln(w, "- codec encode/decode of a 256 B event under 1 µs and at most 2 allocations: see `go test -run '^$' -bench . -benchmem ./codec`")
	growthTargets(w, rp)
}

// checkLine prints one target: met or missed, with the figure.
func checkLine(w io.Writer, what string, ok bool, detail string) {
	if strings.Contains(detail, "NaN") {
		return // a contender did not run
	}
	mark := "MISSED"
	if ok {
		mark = "met"
	}
	fmt.Fprintf(w, "- %s: %s (%s)\n", what, mark, detail)
}

// growthTargets prints issue 18's check that an emit costs the same
// whatever subscribers of other subjects the server has: the rate with
// them present at least 0.8 of the rate without (in the same round).
func growthTargets(w io.Writer, rp *report) {
	header := false
	for _, r := range rp.rows {
		if r.section != sectionSubscribers || !strings.HasSuffix(r.name, othersPresent) || len(r.samples) == 0 {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\nCost growth (issue 18):")
			header = true
		}
		x := r.ratio()
		checkLine(w, fmt.Sprintf("%s: rate >= 0.8 of the rate without them", r.name), x >= 0.8, fmt.Sprintf("%.2f", x))
	}
}
