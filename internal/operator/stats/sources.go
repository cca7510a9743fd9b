package stats

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// VarzSource reports the counts of an embedded server, from its Varz.
func VarzSource(ns *server.Server) ServerSource {
	return func(context.Context) (*ServerStats, error) {
		v, err := ns.Varz(nil)
		if err != nil {
			return nil, fmt.Errorf("server stats: %w", err)
		}
		return &ServerStats{
			Source:      "varz",
			Servers:     1,
			Connections: v.Connections,
			InMsgs:      v.InMsgs,
			OutMsgs:     v.OutMsgs,
			InBytes:     v.InBytes,
			OutBytes:    v.OutBytes,
		}, nil
	}
}

// accountStatzSubject is the request every server answers with the stats
// of the requester's account; any account may send it.
const accountStatzSubject = "$SYS.REQ.ACCOUNT.PING.STATZ"

// accountStatz is the part of a server's answer on accountStatzSubject that
// the report uses.
type accountStatz struct {
	Data struct {
		Accounts []struct {
			Conns int `json:"conns"`
			Sent  struct {
				Msgs  int64 `json:"msgs"`
				Bytes int64 `json:"bytes"`
			} `json:"sent"`
			Received struct {
				Msgs  int64 `json:"msgs"`
				Bytes int64 `json:"bytes"`
			} `json:"received"`
		} `json:"account_statz"`
	} `json:"data"`
}

// AccountSource reports the counts of nc's account summed over the servers
// that answer, for a mesh reached over the network: a server's own Varz
// needs the system account. It reports nil when no server answers (a
// server without a system account).
func AccountSource(nc *nats.Conn) ServerSource {
	return func(ctx context.Context) (*ServerStats, error) {
		answers, err := gatherReplies(ctx, nc, accountStatzSubject, nil)
		if err != nil {
			return nil, fmt.Errorf("server stats: %w", err)
		}
		var out *ServerStats
		for _, m := range answers {
			var a accountStatz
			if json.Unmarshal(m.Data, &a) != nil {
				continue
			}
			if out == nil {
				out = &ServerStats{Source: "account"}
			}
			out.Servers++
			for _, acc := range a.Data.Accounts {
				out.Connections += acc.Conns
				out.InMsgs += acc.Received.Msgs
				out.InBytes += acc.Received.Bytes
				out.OutMsgs += acc.Sent.Msgs
				out.OutBytes += acc.Sent.Bytes
			}
		}
		return out, nil
	}
}
