package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// metricRef is a metric name as the dashboard's queries and the alert
// rules write it: natter_, process_ or go_ and lower-case words.
var metricRef = regexp.MustCompile(`\b(?:natter|process|go)_[a-z0-9_]+\b`)

// TestObservabilityMetricsExist scrapes a running server after some
// traffic (a send, a history read, a login, a close) and checks that every
// metric the Grafana dashboard and the Prometheus alerts use is exported
// under that exact name (histograms as their _bucket/_count series).
func TestObservabilityMetricsExist(t *testing.T) {
	s := startServer(t, "", func(m *Main) {
		m.Quota.ConnsPerUser = 1
		m.Net.DenyIPs = "127.0.0.2/32"
	})
	ctx := ctxFor(t, 30*time.Second)
	a := s.connect(ctx, "alice")
	a.join(ctx, "lobby", 0, "")
	a.send(ctx, "lobby", "m1", "hello")
	// A second connection of alice's: refused by her quota.
	second := s.dialRaw(ctx)
	if _, err := second.Auth(ctx, s.token("alice")); err == nil {
		t.Fatal("a second connection passed --max-conns-per-user 1")
	}
	// A client of a denied address: refused by the IP list.
	denied := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}
	if resp, err := denied.Get(s.m.URL + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("a denied address was served")
		}
	}
	if code := s.getJSON(ctx, "alice", "/api/rooms/lobby/messages", nil); code != 200 {
		t.Fatalf("history: %d", code)
	}
	resp, err := http.Post(s.m.URL+"/api/auth/login", "application/json", strings.NewReader(`{"username":"nobody","password":"wrong password"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp, err = http.Get(s.m.URL + "/readyz"); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	a.Close()
	waitFor(t, ctx, func() bool { return metricValue(t, s, "natter_connections") == 0 })

	exported := scrapeNames(t, s.m.URL)
	used := map[string][]string{}
	for _, file := range []string{"../../deploy/grafana/natter.json", "../../deploy/prometheus/alerts.yml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range metricRef.FindAllString(string(b), -1) {
			used[name] = append(used[name], file)
		}
	}
	var dash struct {
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	b, err := os.ReadFile("../../deploy/grafana/natter.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("deploy/grafana/natter.json: %v", err)
	}
	for _, p := range dash.Panels {
		if p.Type != "row" && (len(p.Targets) == 0 || p.Targets[0].Expr == "") {
			t.Errorf("dashboard panel %q has no query", p.Title)
		}
	}
	if len(used) < 20 {
		t.Fatalf("only %d metric names found in the dashboard and alerts: the pattern is broken", len(used))
	}
	var missing []string
	for name, files := range used {
		if !exported[name] {
			missing = append(missing, name+" (in "+strings.Join(files[:1], "")+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("used but not exported on /metrics:\n  %s", strings.Join(missing, "\n  "))
	}
}

// scrapeNames is the set of sample names of base's /metrics.
func scrapeNames(t *testing.T, base string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, line := range scrape(t, http.DefaultClient, base) {
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}

// promtoolBinary is like helmBinary, for promtool (NATTER_PROMTOOL).
func promtoolBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("NATTER_PROMTOOL"); p != "" {
		return p
	}
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	if os.Getenv("NATTER_REQUIRE_TOOLS") == "1" {
		t.Fatal("promtool not found: set NATTER_PROMTOOL (make test builds it)")
	}
	t.Skip("promtool not found (make test builds it): the dashboard's queries were NOT parsed")
	return ""
}

// TestDashboardQueriesParse has promtool parse every query of the Grafana
// dashboard (as recording rules, Grafana's variables replaced by values),
// so that a typo in a panel fails here rather than as an empty panel.
func TestDashboardQueriesParse(t *testing.T) {
	promtool := promtoolBinary(t)
	b, err := os.ReadFile("../../deploy/grafana/natter.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	vars := strings.NewReplacer("$__rate_interval", "5m", "$job", ".*", "$instance", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			expr, _ := json.Marshal(vars.Replace(tg.Expr)) // a JSON string is a YAML string
			fmt.Fprintf(&rules, "      - record: dashboard:query%d\n        expr: %s\n", n, expr)
			n++
		}
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("SUCCESS: %d rules found", n)) {
		t.Errorf("promtool check of the dashboard's %d queries: %v\n%s", n, err, out)
	}
}
