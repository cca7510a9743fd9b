package main

import (
	"context"
	"fmt"
	"time"
)

func runLive(o options, e *env, rp *report) error {
	for _, size := range o.sizes {
		rows := make([]*row, len(liveCases))
		for i, c := range liveCases {
			rows[i] = rp.add(&row{section: sectionLive, name: c.name, size: size, note: c.note, latency: true, baseline: i == 0})
			if i > 0 {
				rows[i].base = rows[0]
			}
		}
		data := payload(size)
		for round := range o.rounds {
			for i, c := range liveCases {
				if !o.wantsCase(c.name, i == 0) {
					continue
				}
				s, err := take(o, e, rows[i], sectionLive, c.name, size, func() (sample, error) { return measureLive(c, e, data, o.n(c.n), o.latN, o.window) })
				if err != nil {
					return fmt.Errorf("live %s %s: %w", c.name, sizeName(size), err)
				}
				o.logf("live %s round %d: %-45s %s msgs/s, p50 %s", sizeName(size), round+1, c.name, formatRate(s.rate), formatDur(s.p50))
			}
		}
	}
	return nil
}

func runPublish(o options, e *env, rp *report) error {
	for _, size := range o.sizes {
		rows := make([]*row, len(pubCases))
		for i, c := range pubCases {
			rows[i] = rp.add(&row{section: sectionPublish, name: c.name, size: size, note: c.note, latency: true, baseline: i == 0})
			if i > 0 {
				rows[i].base = rows[0]
			}
		}
		data := payload(size)
		for round := range o.rounds {
			for i, c := range pubCases {
				if !o.wantsCase(c.name, i == 0) {
					continue
				}
				s, err := take(o, e, rows[i], sectionPublish, c.name, size, func() (sample, error) { return measurePublish(c, e, data, o.n(c.n), o.latN/4) })
				if err != nil {
					return fmt.Errorf("publish %s %s: %w", c.name, sizeName(size), err)
				}
				o.logf("publish %s round %d: %-45s %s msgs/s, sync p50 %s", sizeName(size), round+1, c.name, formatRate(s.rate), formatDur(s.p50))
			}
		}
	}
	return nil
}

func runConsume(o options, e *env, rp *report) error {
	for _, size := range o.sizes {
		rows := make([]*row, len(consCases))
		lasts := make([]uint64, len(consCases))
		loaded := map[string]uint64{}
		data := payload(size)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		for i, c := range consCases {
			rows[i] = rp.add(&row{section: sectionConsume, name: c.name, size: size, note: c.note, baseline: i == 0})
			if i > 0 {
				rows[i].base = rows[0]
			}
			if !o.wantsCase(c.name, i == 0) {
				continue
			}
			if last, ok := loaded[c.stream]; ok {
				lasts[i] = last // the same backlog as an earlier contender's
				continue
			}
			if err := e.purge(ctx, c.stream); err != nil {
				cancel()
				return err
			}
			if err := c.load(ctx, e, data, o.n(c.n)); err != nil {
				cancel()
				return fmt.Errorf("consume %s: load backlog: %w", c.name, err)
			}
			if err := expectStored(ctx, e, c.stream, uint64(o.n(c.n))); err != nil {
				cancel()
				return fmt.Errorf("consume %s: %w", c.name, err)
			}
			last, err := lastSeq(ctx, e, c.stream)
			if err != nil {
				cancel()
				return err
			}
			lasts[i] = last
			loaded[c.stream] = last
		}
		for round := range o.rounds {
			for i, c := range consCases {
				if !o.wantsCase(c.name, i == 0) {
					continue
				}
				s, err := take(o, e, rows[i], sectionConsume, c.name, size, func() (sample, error) { return measureConsume(c, e, o.n(c.n), lasts[i], round) })
				if err != nil {
					cancel()
					return fmt.Errorf("consume %s %s: %w", c.name, sizeName(size), err)
				}
				o.logf("consume %s round %d: %-45s %s msgs/s", sizeName(size), round+1, c.name, formatRate(s.rate))
			}
		}
		for _, c := range consCases {
			if err := e.purge(ctx, c.stream); err != nil {
				cancel()
				return err
			}
		}
		cancel()
	}
	return nil
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
					s, err := take(o, e, rows[i], sectionFan, fmt.Sprintf("%s %d", c.name, services), size, func() (sample, error) { return measureFan(c, e, data, services, n, o.window) })
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
				s, err := take(o, e, rows[i], sectionHandlers, rows[i].name, size, func() (sample, error) { return measureHandlers(e, data, h, n, o.window) })
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
