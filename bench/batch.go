package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
)

// startRawFastBatch publishes the mesh's bytes (its envelope and a
// Nats-Msg-Id) with nats-server 2.14's fast batch publishing, 1,000
// messages a batch like the EmitBatch contender, on one connection, with
// nothing to encode: the floor of EmitBatch. It keeps to what a batch
// needs when nothing fails (the window of unacknowledged messages, the
// commit); mesh/internal/store/batch.go is the whole protocol.
func startRawFastBatch(e *env, data []byte) (*pubRun, error) {
	data, err := envelopeOf(data)
	if err != nil {
		return nil, err
	}
	nc, err := e.connect("raw-fast-batch")
	if err != nil {
		return nil, err
	}
	inbox := nc.NewInbox()
	replies := make(chan *nats.Msg, 64)
	if _, err := nc.ChanSubscribe(inbox+".>", replies); err != nil {
		nc.Close()
		return nil, err
	}
	b := &rawBatch{nc: nc, inbox: inbox, replies: replies, data: data}
	return &pubRun{
		send:     func() error { return b.add(context.Background()) },
		wait:     b.commit,
		sendSync: func() error { return b.sendOne() },
		stop:     nc.Close,
	}, nil
}

type rawBatch struct {
	nc      *nats.Conn
	inbox   string
	replies chan *nats.Msg
	data    []byte
	prefix  string // of the batch's reply subjects
	n       int    // messages of the batch sent
	acked   int    // and acknowledged
	window  int
}

// add publishes one message in the current batch, committing it at
// emitBatchSize.
func (b *rawBatch) add(ctx context.Context) error {
	if b.n == 0 {
		b.prefix, b.acked, b.window = b.inbox+"."+nuid.Next()+".500.fail.", 0, 2000
	}
	for b.n >= b.acked+b.window {
		if _, err := b.next(ctx); err != nil {
			return err
		}
	}
	b.n++
	op := "1"
	switch {
	case b.n == emitBatchSize:
		op = "2"
	case b.n == 1:
		op = "0"
	}
	m := &nats.Msg{Subject: "raw.dur.pub", Data: b.data, Reply: b.prefix + strconv.Itoa(b.n) + "." + op + ".$FI",
		Header: nats.Header{"Nats-Msg-Id": {nuid.Next()}}}
	if err := b.nc.PublishMsg(m); err != nil {
		return err
	}
	if b.n == emitBatchSize {
		return b.await(ctx)
	}
	return nil
}

// commit ends a batch of fewer than emitBatchSize messages with an
// end-of-batch message (op 3), which commits what was sent and is not
// stored.
func (b *rawBatch) commit(ctx context.Context) error {
	if b.n == 0 {
		return nil
	}
	eob := &nats.Msg{Subject: "raw.dur.pub", Reply: b.prefix + strconv.Itoa(b.n+1) + ".3.$FI"}
	if err := b.nc.PublishMsg(eob); err != nil {
		return err
	}
	return b.await(ctx)
}

// await waits for the batch's publish acknowledgement.
func (b *rawBatch) await(ctx context.Context) error {
	for {
		r, err := b.next(ctx)
		if err != nil {
			return err
		}
		if r.Type == "" {
			if r.Count != b.n {
				return fmt.Errorf("fast batch: %d of %d stored", r.Count, b.n)
			}
			b.n = 0
			return nil
		}
	}
}

type rawBatchReply struct {
	Type  string          `json:"type"`
	Seq   int             `json:"seq"`
	Msgs  int             `json:"msgs"`
	Count int             `json:"count"`
	Error json.RawMessage `json:"error"`
}

// next reads the server's next answer; flow acknowledgements move the
// window.
func (b *rawBatch) next(ctx context.Context) (*rawBatchReply, error) {
	select {
	case m := <-b.replies:
		var r rawBatchReply
		if err := json.Unmarshal(m.Data, &r); err != nil {
			return nil, err
		}
		if r.Error != nil || r.Type == "err" || r.Type == "gap" {
			return nil, fmt.Errorf("fast batch: %s", m.Data)
		}
		if r.Type == "ack" {
			b.acked, b.window = max(b.acked, r.Seq), 4*max(r.Msgs, 1)
		}
		return &r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(stallWait):
		return nil, fmt.Errorf("fast batch: no answer from the server in %s", stallWait)
	}
}

// sendOne stores one message as a batch of one, for latency.
func (b *rawBatch) sendOne() error {
	m := &nats.Msg{Subject: "raw.dur.pub", Data: b.data, Reply: b.inbox + "." + nuid.Next() + ".500.fail.1.2.$FI",
		Header: nats.Header{"Nats-Msg-Id": {nuid.Next()}}}
	if err := b.nc.PublishMsg(m); err != nil {
		return err
	}
	r, err := b.next(context.Background())
	if err == nil && r.Count != 1 {
		err = fmt.Errorf("fast batch of one: %d stored", r.Count)
	}
	return err
}
