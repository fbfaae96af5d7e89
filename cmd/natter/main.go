// Command natter runs Natter: `natter serve` for a whole single node,
// `natter token` to mint a user token, `natter version`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "natter:", err)
		os.Exit(2)
	}
}

const usage = `Usage: natter <command> [flags]

Commands:
  serve     run the chat server: edge + history + web UI, on an embedded
            NATS server (or on an external cluster with --nats)
  edge      run a stateless WebSocket edge of a cluster (--nats required)
  history   run a history replica of a cluster (--nats required)
  backup    write a consistent backup of a running single node (--data, --out)
  restore   restore a backup into a new data directory (--in, --data)
  token     print a signed token for a user
  version   print the version

Run "natter <command> -h" for the flags of a command.
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "serve", "edge", "history":
		return serve(args[0], args[1:], stderr)
	case "token":
		return token(args[1:], stdout, stderr)
	case "backup":
		return backup(args[1:], stdout, stderr)
	case "restore":
		return restore(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "natter", natter.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func newServeFlags(m *Main, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(m.Role, flag.ContinueOnError)
	fs.SetOutput(out)
	m.Flags(fs)
	fs.Var(&configFlag{known: serverFlagNames()}, "config", "TOML file of flag values (keys are flag names); flags and environment variables win over it (docs/CONFIG.md)")
	return fs
}

// givenLimits names the stream limits set on fs by flag, environment or
// config file (parse sets all three through fs.Set, which Visit sees):
// only those are applied to an existing stream (broker.Limits).
func givenLimits(fs *flag.FlagSet) broker.Limits {
	var l broker.Limits
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "stream-max-age":
			l.MaxAge = true
		case "stream-max-bytes":
			l.MaxBytes = true
		case "dedupe-window":
			l.Duplicates = true
		}
	})
	return l
}

// serverFlagNames is the set of flags of every server role: the keys a
// --config file may hold.
func serverFlagNames() map[string]bool {
	names := map[string]bool{}
	for _, role := range []string{"serve", "edge", "history"} {
		m := NewMain()
		m.Role = role
		fs := flag.NewFlagSet(role, flag.ContinueOnError)
		m.Flags(fs)
		fs.VisitAll(func(f *flag.Flag) { names[f.Name] = true })
	}
	return names
}

func serve(role string, args []string, stderr io.Writer) error {
	m := NewMain()
	m.Role = role
	fs := newServeFlags(m, stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	m.ApplyLimits = givenLimits(fs)
	m.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			_ = m.Reload() // logged; the lists in force stay on an error
		}
	}()
	<-ctx.Done()
	if m.DrainDelay > 0 {
		m.Log.Info("draining", "for", m.DrainDelay)
		m.Drain()
		time.Sleep(m.DrainDelay)
	}
	m.Log.Info("shutting down")
	cctx, cancel := context.WithTimeout(context.Background(), m.ShutdownTimeout+5*time.Second)
	defer cancel()
	return m.Close(cctx)
}
