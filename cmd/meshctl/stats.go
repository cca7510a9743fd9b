package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// statsCommand is meshctl stats.
func (a *app) statsCommand() *cobra.Command {
	var httpURL string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show the mesh's statistics: server, stream, dead letters, services",
		Long: `stats shows what GET /api/ipc/stats of the bridge serves: the NATS server's
connections and traffic, the event stream (events, bytes, first and last
sequence and time), the dead letters, and each connected service's own counts
(emitted, received, handled, failed...), summed over its instances.

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
			var r *statsReport
			var err error
			if httpURL != "" {
				r, err = fetchStats(cmd.Context(), httpURL)
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
			return writeStatsTable(a.stdout, r)
		},
	}
	cmd.Flags().StringVar(&httpURL, "http", "", "base URL of a bridge's HTTP API, e.g. http://127.0.0.1:8222")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// gatherStats gathers a report over NATS from --server.
func (a *app) gatherStats(ctx context.Context) (*statsReport, error) {
	ns, err := a.namespace()
	if err != nil {
		return nil, err
	}
	nc, js, err := a.connectJetStream("meshctl-stats")
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	g := &statsGatherer{nc: nc, js: js, ns: ns, server: accountSource(nc)}
	return g.gather(ctx)
}

// fetchStats gets a report from a bridge's HTTP API at base.
func fetchStats(ctx context.Context, base string) (*statsReport, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--http %q: want a URL such as http://127.0.0.1:8222", base)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = statsPath
	}
	ctx, cancel := context.WithTimeout(ctx, gatherTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w (is meshctl serve running there?)", u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	var r statsReport
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("get %s: not a stats report: %w", u, err)
	}
	return &r, nil
}

// writeStatsTable writes r as a readable table.
func writeStatsTable(out io.Writer, r *statsReport) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "namespace\t%s\n", r.Namespace)
	fmt.Fprintf(tw, "time\t%s\n", r.Time.Format(time.RFC3339))
	if s := r.Server; s != nil {
		fmt.Fprintf(tw, "server\t%d connections; in %d msgs, %s; out %d msgs, %s (%s, %d server(s))\n",
			s.Connections, s.InMsgs, humanBytes(s.InBytes), s.OutMsgs, humanBytes(s.OutBytes), s.Source, s.Servers)
	} else {
		fmt.Fprintf(tw, "server\tunknown (no server answered)\n")
	}
	if s := r.Stream; s != nil {
		fmt.Fprintf(tw, "event stream\t%s: %d events, %s; sequences %d..%d; %s .. %s; consumers %d\n",
			s.Name, s.Events, humanBytes(int64(s.Bytes)), s.FirstSeq, s.LastSeq, shortTime(s.FirstTime), shortTime(s.LastTime), s.Consumers)
	} else {
		fmt.Fprintf(tw, "event stream\tnone (start meshctl serve, or create the streams)\n")
	}
	if d := r.DeadLetters; d != nil {
		fmt.Fprintf(tw, "dead letters\t%s: %d, %s\n", d.Name, d.Count, humanBytes(int64(d.Bytes)))
	} else {
		fmt.Fprintf(tw, "dead letters\tnone (no dead-letter stream)\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	if len(r.Services) == 0 {
		_, err := fmt.Fprintln(out, "no service answered")
		return err
	}
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tINSTANCES\tEMITTED\tRECEIVED\tHANDLED\tFAILED\tINVALID\tDROPPED\tREQUESTS\tIN FLIGHT")
	names := make([]string, 0, len(r.Services))
	for name := range r.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		s := r.Services[name]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", name, len(s.Instances),
			s.Emitted, s.Received, s.Handled, s.Failed, s.Invalid, s.Dropped, s.Requests, s.InFlight)
	}
	return tw.Flush()
}

// shortTime formats t for the table, "-" if unset.
func shortTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// humanBytes formats n bytes with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
