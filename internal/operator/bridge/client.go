package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/exprsn/ipcmesh/internal/operator/stats"
)

// FetchStats gets a report from a bridge's HTTP API at base: at StatsPath
// when base has no path.
func FetchStats(ctx context.Context, base string) (*stats.Report, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--http %q: want a URL such as http://127.0.0.1:8222", base)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = StatsPath
	}
	ctx, cancel := context.WithTimeout(ctx, stats.Timeout)
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
	var r stats.Report
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("get %s: not a stats report: %w", u, err)
	}
	return &r, nil
}
