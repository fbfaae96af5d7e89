package main

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
	"github.com/natter-chat/natter/history"
)

// A backup of a single node is a tar file:
//
//	natter-backup.json        the manifest: format, version, time, streams
//	history.db                the archive, copied with VACUUM INTO
//	jwt.secret                the generated signing secret, if any
//	streams/<name>.snapshot   JetStream's snapshot of each stream
//
// taken in that order while the node runs: the archive first (a restored
// archive behind the stream is refilled from it, never the reverse), then
// the buckets, then the room stream (broker.Snapshot's order).

const (
	backupManifest = "natter-backup.json"
	backupFormat   = 1
	historyFile    = "history.db"
	secretFile     = "jwt.secret"
	controlSocket  = "nats.sock"
)

type manifest struct {
	Format  int                     `json:"format"`
	Version string                  `json:"natter_version"`
	Created time.Time               `json:"created"`
	Files   []string                `json:"files"`
	Streams []broker.StreamSnapshot `json:"streams"`
}

func snapshotFile(stream string) string { return "streams/" + stream + ".snapshot" }

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func backup(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./data", "data directory of the running natter serve to back up")
	out := fs.String("out", "", "backup file to write (a tar); must not exist")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("backup: --out is required")
	}
	if _, err := os.Stat(*out); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: %s exists already", *out)
	}
	ctx, stop := signalContext()
	defer stop()
	m, err := writeBackup(ctx, *data, *out)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backup of %s written to %s: %d streams, %s\n", *data, *out, len(m.Streams), strings.Join(m.Files, ", "))
	return nil
}

func writeBackup(ctx context.Context, data, out string) (*manifest, error) {
	nc, err := broker.DialControlSocket(filepath.Join(data, controlSocket))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".natter-backup-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	m := &manifest{Format: backupFormat, Version: natter.Version, Created: time.Now().UTC()}
	if _, err := os.Stat(filepath.Join(data, historyFile)); err == nil {
		if err := history.Backup(ctx, filepath.Join(data, historyFile), filepath.Join(tmp, historyFile)); err != nil {
			return nil, err
		}
		m.Files = append(m.Files, historyFile)
	}
	if err := os.Mkdir(filepath.Join(tmp, "streams"), 0o700); err != nil {
		return nil, err
	}
	m.Streams, err = broker.Snapshot(ctx, nc, func(stream string) (io.WriteCloser, error) {
		return os.OpenFile(filepath.Join(tmp, snapshotFile(stream)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	})
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(data, secretFile)); err == nil {
		if err := os.WriteFile(filepath.Join(tmp, secretFile), b, 0o600); err != nil {
			return nil, err
		}
		m.Files = append(m.Files, secretFile)
	}
	files := append([]string{}, m.Files...)
	for _, s := range m.Streams {
		files = append(files, snapshotFile(s.Name))
	}
	partial := out + ".partial"
	if err := writeTar(partial, m, tmp, files); err != nil {
		os.Remove(partial)
		return nil, err
	}
	return m, os.Rename(partial, out)
}

func writeTar(path string, m *manifest, dir string, files []string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: backupManifest, Mode: 0o600, Size: int64(len(mb)), ModTime: m.Created}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := tw.Write(mb); err != nil {
		return err
	}
	for _, name := range files {
		if err := addFile(tw, filepath.Join(dir, name), name, m.Created); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

func addFile(tw *tar.Writer, path, name string, mod time.Time) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: st.Size(), ModTime: mod}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

func restore(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "backup file written by natter backup")
	data := fs.String("data", "", "data directory to restore into; must be empty or not exist")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *in == "" || *data == "" {
		return errors.New("restore: --in and --data are required")
	}
	ctx, stop := signalContext()
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	m, err := restoreBackup(ctx, *in, *data, log)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "restored %s (taken %s by natter %s) into %s: %d streams; start it with natter serve --data %s\n",
		*in, m.Created.Format(time.RFC3339), m.Version, *data, len(m.Streams), *data)
	return nil
}

func restoreBackup(ctx context.Context, in, data string, log *slog.Logger) (*manifest, error) {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(data); err != nil {
		return nil, err
	} else if len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty: restore into a new data directory", data)
	}
	staging := filepath.Join(data, ".restore")
	if err := os.Mkdir(staging, 0o700); err != nil {
		return nil, err
	}
	defer os.RemoveAll(staging)
	m, err := extractBackup(in, data, staging)
	if err != nil {
		return nil, err
	}
	e, err := broker.StartEmbedded(broker.EmbeddedConfig{DataDir: data, Log: log})
	if err != nil {
		return nil, err
	}
	defer e.Shutdown()
	err = e.Restore(ctx, m.Streams, func(stream string) (io.ReadCloser, error) {
		return os.Open(filepath.Join(staging, snapshotFile(stream)))
	})
	return m, err
}

// extractBackup reads the tar at in: the manifest (first), the files it
// lists into data, and the streams' snapshots into staging. Names not
// listed in the manifest are refused, so nothing lands outside data.
func extractBackup(in, data, staging string) (*manifest, error) {
	f, err := os.Open(in)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != backupManifest {
		return nil, fmt.Errorf("%s is not a natter backup (no %s first)", in, backupManifest)
	}
	var m manifest
	if err := json.NewDecoder(io.LimitReader(tr, 16<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", backupManifest, err)
	}
	if m.Format != backupFormat {
		return nil, fmt.Errorf("backup format %d; this natter reads format %d", m.Format, backupFormat)
	}
	dest := map[string]string{}
	for _, name := range m.Files {
		if name != historyFile && name != secretFile {
			return nil, fmt.Errorf("backup lists an unknown file %q", name)
		}
		dest[name] = filepath.Join(data, name)
	}
	for _, s := range m.Streams {
		// JetStream's own rule for stream names, which also keeps the
		// file name inside staging.
		if s.Name == "" || strings.ContainsAny(s.Name, "/\\.*> \t") {
			return nil, fmt.Errorf("backup lists a stream with an invalid name %q", s.Name)
		}
		dest[snapshotFile(s.Name)] = filepath.Join(staging, snapshotFile(s.Name))
	}
	if err := os.Mkdir(filepath.Join(staging, "streams"), 0o700); err != nil {
		return nil, err
	}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		path, ok := dest[hdr.Name]
		if !ok {
			return nil, fmt.Errorf("backup holds %q, which its manifest does not list", hdr.Name)
		}
		delete(dest, hdr.Name)
		if err := extractFile(tr, path); err != nil {
			return nil, err
		}
	}
	for name := range dest {
		return nil, fmt.Errorf("backup lacks %s (truncated?)", name)
	}
	return &m, nil
}

func extractFile(r io.Reader, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
