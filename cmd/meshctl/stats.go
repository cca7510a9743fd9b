package main

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/exprsn/ipcmesh/internal/operator/bridge"
	"github.com/exprsn/ipcmesh/internal/operator/stats"
	"github.com/spf13/cobra"
)

// statsCommand is meshctl stats.
func (a *app) statsCommand() *cobra.Command {
	var httpURL string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show the mesh's statistics: server, stream, dead letters, services, consumers",
		Long: `stats shows what GET /api/ipc/stats of the bridge serves: the NATS server's
connections and traffic, the event stream (events, bytes, first and last
sequence and time), the dead letters, each connected service's own counts
(emitted, received, handled, failed...), summed over its instances, and the
event stream's consumers, one per durable handler, with their pending, ack
pending, redelivered and lag, whether an instance is connected or not (see
meshctl consumers --help).

With --http it asks a running bridge. Otherwise it gathers the same data
itself over NATS from --server: the services' counts from the workers, and
the server part as the totals of your account over the servers that answer
("account" source) rather than the server-wide counts of the bridge ("varz").`,
		Example: `  meshctl stats
  meshctl stats --http http://127.0.0.1:8222
  meshctl stats --server nats://a:4222,nats://b:4222 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if httpURL != "" && cmd.Flags().Changed("server") {
				return errors.New("give --http (a bridge) or --server (NATS), not both")
			}
			var r *stats.Report
			var err error
			if httpURL != "" {
				r, err = bridge.FetchStats(cmd.Context(), httpURL)
			} else {
				r, err = a.gatherStats(cmd.Context())
			}
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return stats.WriteTable(a.stdout, r)
		},
	}
	cmd.Flags().StringVar(&httpURL, "http", "", "base URL of a bridge's HTTP API, e.g. http://127.0.0.1:8222")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// gatherStats gathers a report over NATS from --server.
func (a *app) gatherStats(ctx context.Context) (*stats.Report, error) {
	ns, err := a.namespace()
	if err != nil {
		return nil, err
	}
	nc, js, err := a.conn.ConnectJetStream("meshctl-stats")
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	return stats.NewGatherer(nc, js, ns, stats.AccountSource(nc)).Gather(ctx)
}
