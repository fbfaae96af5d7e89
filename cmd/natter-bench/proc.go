package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a process the bench started (natter serve or nats-server).
type server struct {
	name string
	cmd  *exec.Cmd
	exit chan error
	log  string
}

func startProcess(name, logPath string, args ...string) (*server, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s := &server{name: name, cmd: cmd, exit: make(chan error, 1), log: logPath}
	go func() { s.exit <- cmd.Wait(); f.Close() }()
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// alive reports an error if the process has exited.
func (s *server) alive() error {
	select {
	case err := <-s.exit:
		s.exit <- err
		return fmt.Errorf("%s exited: %v (log %s)", s.name, err, s.log)
	default:
		return nil
	}
}

// stop sends SIGTERM, then SIGKILL after 15 s.
func (s *server) stop() {
	if s == nil || s.alive() != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exit:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exit
	}
}

// freePort asks the kernel for an unused loopback port. Ephemeral ports are
// above 32767 here, clear of the 24000-24050 range the chaos test uses.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP polls url until it answers 200, the process dies, or d passes.
func waitHTTP(ctx context.Context, s *server, url string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if s != nil {
			if err := s.alive(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer 200 within %v", url, d)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startNatter runs `natter serve` on a fresh loopback port with its data in
// dir (or, with natsURL, `natter edge` on that NATS server), with
// per-connection limits raised and the connection caps off (the load comes
// from a few loopback addresses), so that they never throttle the load,
// and waits until it is ready.
func startNatter(ctx context.Context, bin, dir, natsURL, secret string, extra []string) (*server, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{bin, "serve", "--data", filepath.Join(dir, "data")}
	if natsURL != "" {
		args = []string{bin, "edge", "--nats", natsURL, "--jwt-secret", secret}
	}
	args = append(append(args, "--addr", addr, "--rate", "1000000", "--burst", "1000000", "--queue", "65536",
		"--max-conns", "0", "--max-conns-per-ip", "0"), extra...)
	s, err := startProcess("natter", filepath.Join(dir, "natter.log"), args...)
	if err != nil {
		return nil, "", err
	}
	if err := waitHTTP(ctx, s, "http://"+addr+"/readyz", 60*time.Second); err != nil {
		s.stop()
		return nil, "", err
	}
	return s, "ws://" + addr + "/ws", nil
}

// startNATS runs nats-server with JetStream and its built-in WebSocket
// listener (no TLS) and returns the ws:// URL, and the nats:// one as
// natsURL.
func startNATS(ctx context.Context, bin, dir string) (s *server, wsURL, natsURL string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", "", err
	}
	var ports [3]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, "", "", err
		}
		ports[i] = p
	}
	conf := fmt.Sprintf(`listen: 127.0.0.1:%d
http: 127.0.0.1:%d
max_payload: 1MB
jetstream { store_dir: %q }
websocket { listen: "127.0.0.1:%d", no_tls: true }
`, ports[0], ports[1], filepath.Join(dir, "nats-js"), ports[2])
	cpath := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(cpath, []byte(conf), 0o644); err != nil {
		return nil, "", "", err
	}
	s, err = startProcess("nats-server", filepath.Join(dir, "nats.log"), bin, "-c", cpath)
	if err != nil {
		return nil, "", "", err
	}
	if err := waitHTTP(ctx, s, fmt.Sprintf("http://127.0.0.1:%d/healthz", ports[1]), 30*time.Second); err != nil {
		s.stop()
		return nil, "", "", err
	}
	return s, fmt.Sprintf("ws://127.0.0.1:%d", ports[2]), fmt.Sprintf("nats://127.0.0.1:%d", ports[0]), nil
}

// procStat is what /proc says about a process at one instant.
type procStat struct {
	rss int64         // bytes (VmRSS)
	cpu time.Duration // utime + stime
	at  time.Time
}

// clkTck is USER_HZ, the unit of utime and stime in /proc/<pid>/stat; it
// is 100 on every Linux architecture Go supports.
const clkTck = 100

func readProc(pid int) (procStat, error) {
	st := procStat{at: time.Now()}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return st, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	st.cpu = time.Duration(ut+stt) * time.Second / clkTck
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			st.rss = kb << 10
		}
	}
	return st, nil
}

// sampler reads a set of processes' /proc entries every second, so that a
// report can give the peak RSS and the CPU used over a window.
type sampler struct {
	mu    sync.Mutex
	pids  []int
	peak  map[int]int64
	stop  chan struct{}
	done  chan struct{}
	every time.Duration
}

func newSampler(pids ...int) *sampler {
	s := &sampler{pids: pids, peak: map[int]int64{}, stop: make(chan struct{}), done: make(chan struct{}), every: time.Second}
	go s.loop()
	return s
}

func (s *sampler) loop() {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		s.mu.Lock()
		for _, pid := range s.pids {
			if st, err := readProc(pid); err == nil && st.rss > s.peak[pid] {
				s.peak[pid] = st.rss
			}
		}
		s.mu.Unlock()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

func (s *sampler) close() { close(s.stop); <-s.done }

// resetPeak starts a new window for peak RSS.
func (s *sampler) resetPeak() {
	s.mu.Lock()
	clear(s.peak)
	s.mu.Unlock()
}

func (s *sampler) peakRSS(pid int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak[pid]
}

// Usage is a process's resource use over a window of a run.
type Usage struct {
	CPUSeconds float64 `json:"cpu_s"`
	Cores      float64 `json:"cores"` // average cores busy over the window
	RSSMiB     float64 `json:"rss_mib"`
	PeakRSSMiB float64 `json:"peak_rss_mib,omitempty"`
	// OtherCores is what the rest of the machine (neither this server nor
	// the load generator) used over the window.
	OtherCores float64 `json:"other_cores"`
}

// machineBusy is the CPU time all cores have spent not idle since boot,
// from the first line of /proc/stat (user nice system idle iowait irq
// softirq steal ...).
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy int64
	for i, v := range f[1:min(len(f), 9)] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / clkTck
}

// window measures CPU between two procStats of the same process.
func window(a, b procStat, peak int64) Usage {
	cpu := (b.cpu - a.cpu).Seconds()
	wall := b.at.Sub(a.at).Seconds()
	u := Usage{CPUSeconds: round(cpu, 2), RSSMiB: mib(b.rss), PeakRSSMiB: mib(max(peak, b.rss))}
	if wall > 0 {
		u.Cores = round(cpu/wall, 2)
	}
	return u
}

func mib(b int64) float64 { return round(float64(b)/(1<<20), 1) }
