package main

import (
	"context"
	"fmt"
	"time"
)

// A plan is how a path's contenders run in one section: the section their
// rows are in, the payload sizes, and how many messages a run sends.
type plan struct {
	section string
	sizes   []int
	// count is how many messages one run sends at size, for a contender
	// sending n at scale 1.
	count func(n, size int) int
	// bases are the indexes of the contenders' baselines, bases[i] for
	// contender i (a baseline is its own); nil: the first contender is
	// everyone's.
	bases []int
}

// plan is the plan of the sections of the main table: -sizes, and each
// contender's count times -scale.
func (o options) plan(section string) plan {
	return plan{section: section, sizes: o.sizes, count: func(n, _ int) int { return o.n(n) }}
}

// windowBytes bounds the bytes a sender has sent and not yet seen received,
// well under nats.go's 64 MiB slow-consumer limit per subscription.
const windowBytes = 32 << 20

// windowFor is -window, or fewer messages for large payloads (windowBytes).
func (o options) windowFor(size int) int { return min(o.window, max(windowBytes/size, 8)) }

// A contender is one case of a path, with its name and note for the table.
type contender interface{ label() (name, note string) }

func (c liveCase) label() (string, string) { return c.name, c.note }
func (c pubCase) label() (string, string)  { return c.name, c.note }
func (c consCase) label() (string, string) { return c.name, c.note }

// baseOf is the index of contender i's baseline.
func (pl plan) baseOf(i int) int {
	if pl.bases == nil {
		return 0
	}
	return pl.bases[i]
}

// runRounds measures each contender of cases at each size of pl, once per
// round, and adds their rows (with latency if latency): measure runs
// contender i at size once, and detail describes its sample in the
// progress log.
func runRounds[C contender](o options, e *env, rp *report, pl plan, cases []C, latency bool,
	measure func(i int, c C, size int, data []byte, round int) (sample, error), detail func(sample) string) error {
	for _, size := range pl.sizes {
		rows := make([]*row, len(cases))
		for i, c := range cases {
			name, note := c.label()
			rows[i] = rp.add(&row{section: pl.section, name: name, size: size, note: note, latency: latency, baseline: pl.baseOf(i) == i})
		}
		for i, r := range rows {
			if !r.baseline {
				r.base = rows[pl.baseOf(i)]
			}
		}
		data := payload(size)
		for round := range o.rounds {
			for i, c := range cases {
				name, _ := c.label()
				if !o.wantsCase(name, pl.baseOf(i) == i) {
					continue
				}
				s, err := take(o, e, rows[i], pl.section, name, size, func() (sample, error) { return measure(i, c, size, data, round) })
				if err != nil {
					return fmt.Errorf("%s %s %s: %w", pl.section, name, sizeName(size), err)
				}
				o.logf("%s %s round %d: %-45s %s", pl.section, sizeName(size), round+1, name, detail(s))
			}
		}
	}
	return nil
}

func runLive(o options, e *env, rp *report, pl plan, cases []liveCase) error {
	return runRounds(o, e, rp, pl, cases, true, func(_ int, c liveCase, size int, data []byte, _ int) (sample, error) {
		return measureLive(c, e, data, pl.count(c.n, size), o.latN, o.windowFor(size))
	}, func(s sample) string { return fmt.Sprintf("%s msgs/s, p50 %s", formatRate(s.rate), formatDur(s.p50)) })
}

func runPublish(o options, e *env, rp *report, pl plan, cases []pubCase) error {
	return runRounds(o, e, rp, pl, cases, true, func(_ int, c pubCase, size int, data []byte, _ int) (sample, error) {
		return measurePublish(c, e, data, pl.count(c.n, size), o.latN/4)
	}, func(s sample) string {
		return fmt.Sprintf("%s msgs/s, sync p50 %s", formatRate(s.rate), formatDur(s.p50))
	})
}

// runConsume loads the backlogs of each size before its rounds and empties
// the streams after them.
func runConsume(o options, e *env, rp *report, pl plan, cases []consCase) error {
	for _, size := range pl.sizes {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		err := consumeAt(ctx, o, e, rp, pl, cases, size)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

func consumeAt(ctx context.Context, o options, e *env, rp *report, pl plan, cases []consCase, size int) error {
	lasts, err := loadBacklogs(ctx, o, e, pl, cases, size)
	if err != nil {
		return err
	}
	one := pl
	one.sizes = []int{size}
	err = runRounds(o, e, rp, one, cases, false, func(i int, c consCase, size int, _ []byte, round int) (sample, error) {
		return measureConsume(c, e, pl.count(c.n, size), lasts[i], round)
	}, func(s sample) string { return formatRate(s.rate) + " msgs/s" })
	if err != nil {
		return err
	}
	for _, c := range cases {
		if err := e.purge(ctx, c.stream); err != nil {
			return err
		}
	}
	return nil
}

// loadBacklogs fills each contender's stream with its backlog at size
// (contenders sharing a stream share one backlog) and returns the stream
// sequence each backlog ends at.
func loadBacklogs(ctx context.Context, o options, e *env, pl plan, cases []consCase, size int) ([]uint64, error) {
	lasts := make([]uint64, len(cases))
	loaded := map[string]uint64{}
	data := payload(size)
	for i, c := range cases {
		if !o.wantsCase(c.name, pl.baseOf(i) == i) {
			continue
		}
		if last, ok := loaded[c.stream]; ok {
			lasts[i] = last // the same backlog as an earlier contender's
			continue
		}
		n := pl.count(c.n, size)
		if err := e.purge(ctx, c.stream); err != nil {
			return nil, err
		}
		if err := c.load(ctx, e, data, n); err != nil {
			return nil, fmt.Errorf("%s %s: load backlog: %w", pl.section, c.name, err)
		}
		if err := expectStored(ctx, e, c.stream, uint64(n)); err != nil {
			return nil, fmt.Errorf("%s %s: %w", pl.section, c.name, err)
		}
		last, err := lastSeq(ctx, e, c.stream)
		if err != nil {
			return nil, err
		}
		lasts[i], loaded[c.stream] = last, last
	}
	return lasts, nil
}

func runRequest(o options, e *env, rp *report) error {
	for _, size := range o.sizes {
		rows := make([]*row, len(reqCases))
		for i, c := range reqCases {
			rows[i] = rp.add(&row{section: sectionRequest, name: c.name, size: size, note: c.note, latency: true, baseline: i == 0})
			if i > 0 {
				rows[i].base = rows[0]
			}
		}
		data := payload(size)
		for round := range o.rounds {
			for i, c := range reqCases {
				if !o.wantsCase(c.name, i == 0) {
					continue
				}
				s, err := take(o, e, rows[i], sectionRequest, c.name, size, func() (sample, error) { return measureRequest(c, e, data, o.latN) })
				if err != nil {
					return fmt.Errorf("request %s %s: %w", c.name, sizeName(size), err)
				}
				o.logf("request %s round %d: %-45s p50 %s p99 %s", sizeName(size), round+1, c.name, formatDur(s.p50), formatDur(s.p99))
			}
		}
	}
	return nil
}

// fanDeliveries is how many deliveries a fan-out run makes at scale 1.
const fanDeliveries = 200_000

func runFan(o options, e *env, rp *report) error {
	for _, size := range o.sizes {
		data := payload(size)
		for _, services := range fanServices {
			rows := make([]*row, len(fanCases))
			for i, c := range fanCases {
				rows[i] = rp.add(&row{section: sectionFan, size: size, baseline: i == 0, extra: "emits/s",
					name: fmt.Sprintf("%s, %d services x %d (deliveries)", c.name, services, instancesPerService)})
				if i > 0 {
					rows[i].base = rows[0]
				}
			}
			n := o.n(fanDeliveries / (services * instancesPerService))
			for round := range o.rounds {
				for i, c := range fanCases {
					if !o.wantsCase(c.name, i == 0) {
						continue
					}
					s, err := take(o, e, rows[i], sectionFan, fmt.Sprintf("%s %d", c.name, services), size, func() (sample, error) { return measureFan(c, e, data, services, n, o.windowFor(size)) })
					if err != nil {
						return fmt.Errorf("fan-out %s %d services %s: %w", c.name, services, sizeName(size), err)
					}
					o.logf("fan-out %s %d services round %d: %-40s %s deliveries/s", sizeName(size), services, round+1, c.name, formatRate(s.rate))
				}
			}
		}
	}
	return nil
}

// handlerCalls is how many handler calls a handlers run makes at scale 1.
const handlerCalls = 150_000

func runHandlers(o options, e *env, rp *report) error {
	if !o.wantsCase("mesh", false) {
		return nil
	}
	for _, size := range o.sizes {
		data := payload(size)
		rows := make([]*row, len(handlerCounts))
		for i, h := range handlerCounts {
			rows[i] = rp.add(&row{section: sectionHandlers, size: size, extra: "emits/s",
				name: fmt.Sprintf("mesh Emit -> %d handler(s) of one event in one worker (handler calls)", h)})
		}
		for round := range o.rounds {
			for i, h := range handlerCounts {
				n := o.n(handlerCalls / h)
				s, err := take(o, e, rows[i], sectionHandlers, rows[i].name, size, func() (sample, error) { return measureHandlers(e, data, h, n, o.windowFor(size)) })
				if err != nil {
					return fmt.Errorf("handlers %d %s: %w", h, sizeName(size), err)
				}
				o.logf("handlers %s %d round %d: %s handler calls/s", sizeName(size), h, round+1, formatRate(s.rate))
			}
		}
	}
	return nil
}

// take measures one contender for one round, with retries (attempt) under
// its pprof labels, and records the sample in r.
func take(o options, e *env, r *row, section, label string, size int, measure func() (sample, error)) (sample, error) {
	s, err := attempt(o, e, r, func() (sample, error) { return labelled(section, label, size, measure) })
	if err == nil {
		r.samples = append(r.samples, s)
	}
	return s, err
}
