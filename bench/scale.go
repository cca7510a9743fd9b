package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/nats-io/nats.go"
)

// How cost grows with payload size and with subscribers of other events.

// payloadSizes are the sizes of the payloads section.
var payloadSizes = []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10}

// Bytes of payload one run of the payloads section sends at scale 1, and
// the fewest messages it sends (a contender never sends more than its
// count in the main table).
const (
	payloadLiveBytes = 64 << 20
	payloadLiveLeast = 2_000
	payloadPubBytes  = 32 << 20
	payloadPubLeast  = 1_000
)

// runPayloads measures the live and durable publish paths, mesh against
// raw nats.go and the floor of the mesh's wire format, from 64 B to 64 KiB.
func runPayloads(o options, e *env, rp *report) error {
	count := func(budget, least int) func(n, size int) int {
		return func(n, size int) int { return o.n(min(n, max(budget/size, least))) }
	}
	live := plan{section: sectionPayloadsLive, sizes: payloadSizes, count: count(payloadLiveBytes, payloadLiveLeast)}
	if err := runLive(o, e, rp, live, []liveCase{liveRaw, liveFloor, liveMesh}); err != nil {
		return err
	}
	pub := plan{section: sectionPayloadsPub, sizes: payloadSizes, count: count(payloadPubBytes, payloadPubLeast)}
	return runPublish(o, e, rp, pub, []pubCase{pubRaw, pubFloor, pubMesh, pubBatchFloor, pubBatch})
}

// The subscribers section: otherServices services with otherHandlers live
// handlers each, for events nobody emits, beside one sender and one
// receiver.
const (
	otherServices = 100
	otherHandlers = 20
	// othersPresent ends the names of the rows measured with them.
	othersPresent = "present"
)

// runSubscribers measures the live path with and without the other
// services' subscribers on the server: the server sends an event only to
// the subscriptions its subject matches, so the rate should not change.
func runSubscribers(o options, e *env, rp *report) error {
	services := o.n(otherServices)
	const note = "ratio: to the same path without them"
	cases := []liveCase{
		variant(liveRaw, "raw nats.go core pub->sub, no other subscriptions", "", nil),
		variant(liveRaw, fmt.Sprintf("raw nats.go core pub->sub, %d connections x %d subscriptions of other subjects %s", services, 2*otherHandlers, othersPresent),
			note, othersIn(roleRawOthers, services)),
		variant(liveMesh, "mesh Emit -> On, no other handlers", "ratio: to raw without them", nil),
		variant(liveMesh, fmt.Sprintf("mesh Emit -> On, %d services x %d live handlers of other events %s", services, otherHandlers, othersPresent),
			note+fmt.Sprintf("; %d handlers, %d subscriptions", services*otherHandlers, 2*services*otherHandlers), othersIn(roleMeshOthers, services)),
	}
	pl := o.plan(sectionSubscribers)
	pl.sizes, pl.bases = o.sizes[:1], []int{0, 0, 0, 2}
	return runLive(o, e, rp, pl, cases)
}

// variant is c with another name and note, and others (if not nil)
// started before it and stopped after it.
func variant(c liveCase, name, note string, others func(e *env) (stop func(), err error)) liveCase {
	start := c.start
	c.name, c.note = name, note
	if others == nil {
		return c
	}
	c.start = func(e *env, data []byte, s *sink) (func() error, func(), error) {
		stopOthers, err := others(e)
		if err != nil {
			return nil, nil, err
		}
		send, stop, err := start(e, data, s)
		if err != nil {
			stopOthers()
			return nil, nil, err
		}
		return send, func() { stop(); stopOthers() }, nil
	}
	return c
}

// othersIn returns a func starting a child process in role that holds the
// subscriptions of services other services, apart from the measured
// clients (as in production, where each service is a process: their
// goroutines and heap do not slow the measured ones' garbage collection).
func othersIn(role string, services int) func(e *env) (func(), error) {
	return func(e *env) (func(), error) {
		c, err := startChild(role, e.url)
		if err != nil {
			return nil, err
		}
		if err := c.ask(nil, "start", services); err != nil {
			c.kill()
			return nil, err
		}
		return func() {
			if err := c.stop(); err != nil {
				e.log.Warn("bench: subscribers child", "error", err)
			}
		}, nil
	}
}

// othersChild holds other services' subscriptions on the server at url:
// it answers "start N", which connects N services with their handlers.
func othersChild(role, url string) (func(verb, arg string) (any, error), func()) {
	var stop func()
	serve := func(verb, arg string) (any, error) {
		n, err := strconv.Atoi(arg)
		if verb != "start" || err != nil || stop != nil {
			return nil, fmt.Errorf("unknown request %q %q", verb, arg)
		}
		if role == roleMeshOthers {
			stop, err = meshOthers(url, n)
		} else {
			stop, err = rawOthers(url, n)
		}
		return nil, err
	}
	return serve, func() {
		if stop != nil {
			stop()
		}
	}
}

// rawOthers connects services connections with 2*otherHandlers
// subscriptions each, half of them in a queue group, as the mesh's live
// handlers hold (a broadcast and a targeted subscription).
func rawOthers(url string, services int) (func(), error) {
	var conns []*nats.Conn
	stop := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	nop := func(*nats.Msg) {}
	for i := range services {
		c, err := nats.Connect(url, nats.Name(fmt.Sprintf("raw-other-%d", i)))
		if err != nil {
			stop()
			return nil, err
		}
		conns = append(conns, c)
		for j := range otherHandlers {
			subject := fmt.Sprintf("raw.other.s%03d.e%02d", i, j)
			if _, err := c.Subscribe(subject, nop); err != nil {
				stop()
				return nil, err
			}
			if _, err := c.QueueSubscribe(subject+".to", fmt.Sprintf("svc-%03d", i), nop); err != nil {
				stop()
				return nil, err
			}
		}
		if err := c.Flush(); err != nil {
			stop()
			return nil, err
		}
	}
	return stop, nil
}

// meshOthers connects services live-only workers in the live path's
// namespace with otherHandlers live handlers each, of events of their own.
func meshOthers(url string, services int) (func(), error) {
	var workers []*mesh.Worker
	stop := func() {
		for _, w := range workers {
			closeWorker(w)
		}
	}
	h := mesh.HandlerFunc(func(context.Context, *mesh.Event) error { return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i := range services {
		w, err := mesh.Connect(ctx, mesh.Config{Service: fmt.Sprintf("svc-%03d", i), Namespace: "live", Servers: []string{url},
			Logger: childLogger(), Stream: mesh.StreamConfig{Disable: true}})
		if err != nil {
			stop()
			return nil, err
		}
		workers = append(workers, w)
		for j := range otherHandlers {
			if _, err := w.On(ctx, fmt.Sprintf("s%03d:e%02d", i, j), h); err != nil {
				stop()
				return nil, err
			}
		}
	}
	return stop, nil
}
