// Package wsconn is the client side of RFC 6455 that the Go SDK needs:
// the opening handshake over a plain TCP connection, masked text frames
// out, and server frames in (text, continuation, ping, pong, close).
//
// It lives here, and not on gobwas/ws, because only the server's edge
// package imports gobwas/ws; the SDK depends on the standard library
// alone. It implements what Natter's protocol uses (docs/PROTOCOL.md
// sections 1 and 2): no extensions, no subprotocols, no binary messages.
package wsconn

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Opcodes of RFC 6455 section 5.2.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// DefaultMaxMessage bounds a server message: Natter's events are a few
// KiB; a larger one means a broken peer, not data to buffer.
const DefaultMaxMessage = 4 << 20

// CloseError is how a connection ended: the server's close frame (Code 0
// when none arrived, Err then says why).
type CloseError struct {
	Code   int
	Reason string
	Err    error
}

func (e *CloseError) Error() string {
	if e.Code == 0 && e.Err != nil {
		return "connection lost: " + e.Err.Error()
	}
	return fmt.Sprintf("closed by server: %d %s", e.Code, e.Reason)
}

func (e *CloseError) Unwrap() error { return e.Err }

// Conn is one client connection. Read is for one goroutine; Write and
// Close may be called from any.
type Conn struct {
	nc  net.Conn
	br  *bufio.Reader
	wmu sync.Mutex
	// MaxMessage bounds one reassembled server message.
	MaxMessage int
}

// Dial connects to a ws:// or wss:// URL (wss: through the TLS-terminating
// proxy that Natter sits behind; tc may be nil for the system's roots) and
// performs the opening handshake.
func Dial(ctx context.Context, rawURL string, header http.Header, tc *tls.Config) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	port := map[string]string{"ws": "80", "wss": "443"}[u.Scheme]
	if port == "" {
		return nil, fmt.Errorf("wsconn: unsupported scheme %q (want ws or wss)", u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), port)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "wss" {
		cfg := &tls.Config{}
		if tc != nil {
			cfg = tc.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		tlsConn := tls.Client(nc, cfg)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tlsConn
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	c, err := handshake(nc, u, header)
	if !stop() || err != nil {
		nc.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, err
	}
	return c, nil
}

func handshake(nc net.Conn, u *url.URL, header http.Header) (*Conn, error) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := &http.Request{Method: "GET", URL: u, Host: u.Host, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	for k, v := range header {
		req.Header[k] = v
	}
	req.URL = &url.URL{Path: u.Path, RawQuery: u.RawQuery}
	if req.URL.Path == "" {
		req.URL.Path = "/"
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	bw := bufio.NewWriter(nc)
	if err := req.Write(bw); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 16<<10)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("wsconn: handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, &HandshakeError{Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") || resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(key) {
		return nil, errors.New("wsconn: handshake: bad upgrade response")
	}
	return &Conn{nc: nc, br: br, MaxMessage: DefaultMaxMessage}, nil
}

// HandshakeError is an HTTP answer other than 101 to the upgrade (503 when
// the server is over its connection limits or shutting down).
type HandshakeError struct {
	Status int
	Body   string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("wsconn: upgrade refused: HTTP %d %s", e.Status, e.Body)
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// SetReadDeadline bounds the next Read.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// Read returns the payload of the next text message, answering pings on
// the way. When the server closes, it returns a *CloseError with its code.
func (c *Conn) Read() ([]byte, error) {
	msg, err := readMessage(c.br, c.MaxMessage, c.pong)
	if err != nil {
		var ce *CloseError
		if !errors.As(err, &ce) {
			err = &CloseError{Err: err}
		}
		return nil, err
	}
	return msg, nil
}

func (c *Conn) pong(payload []byte) error { return c.writeFrame(opPong, payload) }

// readMessage reads frames from r until a whole text message is in; pong
// answers a ping. It is the parser of server bytes (fuzzed).
func readMessage(r *bufio.Reader, limit int, pong func([]byte) error) ([]byte, error) {
	var msg []byte
	started := false
	for {
		fin, op, payload, err := readFrame(r, limit-len(msg))
		if err != nil {
			return nil, err
		}
		switch op {
		case opPing:
			if err := pong(payload); err != nil {
				return nil, err
			}
			continue
		case opPong:
			continue
		case opClose:
			ce := &CloseError{Code: 1005}
			if len(payload) >= 2 {
				ce.Code = int(binary.BigEndian.Uint16(payload))
				ce.Reason = string(payload[2:])
			}
			return nil, ce
		case opText:
			if started {
				return nil, errors.New("wsconn: text frame inside a fragmented message")
			}
			started = true
		case opContinuation:
			if !started {
				return nil, errors.New("wsconn: continuation without a message")
			}
		case opBinary:
			return nil, errors.New("wsconn: binary message")
		default:
			return nil, fmt.Errorf("wsconn: reserved opcode %#x", op)
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}

// readFrame reads one frame whose payload is at most limit bytes (control
// frames: at most 125, as RFC 6455 requires).
func readFrame(r *bufio.Reader, limit int) (fin bool, op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0f
	if h[0]&0x70 != 0 {
		err = errors.New("wsconn: RSV bits set")
		return
	}
	control := op&0x8 != 0
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if control && (n > 125 || !fin) {
		err = errors.New("wsconn: bad control frame")
		return
	}
	if !control && (limit < 0 || n > uint64(limit)) {
		err = fmt.Errorf("wsconn: server message over %d bytes", limit)
		return
	}
	var mask [4]byte
	masked := h[1]&0x80 != 0
	if masked { // servers must not mask; accept it rather than guess
		if _, err = io.ReadFull(r, mask[:]); err != nil {
			return
		}
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	return
}

// WriteText writes one masked text frame.
func (c *Conn) WriteText(b []byte) error { return c.writeFrame(opText, b) }

// writeTimeout bounds one frame write: a peer that stopped reading must
// not hold a writer forever.
const writeTimeout = 10 * time.Second

func (c *Conn) writeFrame(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.nc.Write(appendFrame(nil, op, payload))
	return err
}

func appendFrame(b []byte, op byte, payload []byte) []byte {
	b = append(b, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	b = append(b, mask[:]...)
	for i, x := range payload {
		b = append(b, x^mask[i%4])
	}
	return b
}

// Close sends a normal close frame (best effort, briefly) and closes the
// socket; a Read in progress returns.
func (c *Conn) Close() error {
	c.wmu.Lock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.nc.Write(appendFrame(nil, opClose, []byte{0x03, 0xe8}))
	c.wmu.Unlock()
	return c.nc.Close()
}
