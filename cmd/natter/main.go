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
  serve     run the chat server (embedded NATS + edge + history + web UI)
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
	case "serve":
		return serve(args[1:], stderr)
	case "token":
		return token(args[1:], stdout, stderr)
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
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	m.Flags(fs)
	return fs
}

func serve(args []string, stderr io.Writer) error {
	m := NewMain()
	if err := parse(newServeFlags(m, stderr), args); err != nil {
		return err
	}
	m.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	m.Log.Info("shutting down")
	cctx, cancel := context.WithTimeout(context.Background(), m.ShutdownTimeout+5*time.Second)
	defer cancel()
	return m.Close(cctx)
}
