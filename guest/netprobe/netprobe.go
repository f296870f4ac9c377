// Package netprobe is the probe's network side, shared by the probe (in a
// VM or a container) and the lab host (twinboot itself): a tiny HTTP/1.1
// server that answers with the probe's report, and the client that fetches
// it and measures round trips and throughput to it.
//
//	GET /           the READY report, as JSON
//	GET /ping       "pong": one request/response round trip
//	GET /bytes?n=N  N bytes, for one TCP stream's throughput
//
// It speaks just enough HTTP/1.1 for busybox wget, curl and itself
// (Content-Length bodies, keep-alive unless "Connection: close") on top of
// package net: net/http would more than double the probe, and with it the
// initramfs every VM boot unpacks.
package netprobe

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twinboot/twinboot/guest/report"
)

// MaxStream bounds what /bytes sends.
const MaxStream = 1 << 30

// Serve answers on ln until it is closed, one goroutine per connection.
func Serve(ln net.Listener, rep report.Report) error {
	body, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go serveConn(c, body)
	}
}

var zeros = make([]byte, 64<<10)

func serveConn(c net.Conn, body []byte) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriterSize(c, 64<<10)
	for {
		c.SetReadDeadline(time.Now().Add(2 * time.Minute))
		path, closeAfter, err := readRequest(r)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				respond(w, "400 Bad Request", "text/plain", []byte(err.Error()+"\n"), true)
			}
			return
		}
		switch p, q, _ := strings.Cut(path, "?"); p {
		case "/":
			respond(w, "200 OK", "application/json", body, closeAfter)
		case "/ping":
			respond(w, "200 OK", "text/plain", []byte("pong"), closeAfter)
		case "/bytes":
			n, err := strconv.ParseInt(strings.TrimPrefix(q, "n="), 10, 64)
			if err != nil || !strings.HasPrefix(q, "n=") || n < 0 || n > MaxStream {
				respond(w, "400 Bad Request", "text/plain", []byte("n: a byte count up to 1 GiB\n"), true)
				return
			}
			fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n%s\r\n", n, connHeader(closeAfter))
			for n > 0 {
				k := min(n, int64(len(zeros)))
				if _, err := w.Write(zeros[:k]); err != nil {
					return
				}
				n -= k
			}
			if w.Flush() != nil {
				return
			}
		default:
			respond(w, "404 Not Found", "text/plain", []byte("try / /ping /bytes?n=N\n"), closeAfter)
		}
		if closeAfter {
			return
		}
	}
}

func connHeader(closeAfter bool) string {
	if closeAfter {
		return "Connection: close\r\n"
	}
	return ""
}

func respond(w *bufio.Writer, status, ctype string, body []byte, closeAfter bool) {
	fmt.Fprintf(w, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n", status, ctype, len(body), connHeader(closeAfter))
	w.Write(body)
	w.Flush()
}

// readRequest reads one GET request: its path, and whether the client asked
// to close (HTTP/1.0 or "Connection: close").
func readRequest(r *bufio.Reader) (path string, closeAfter bool, err error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", false, err
	}
	f := strings.Fields(line)
	if len(f) != 3 || !strings.HasPrefix(f[2], "HTTP/1.") {
		return "", false, fmt.Errorf("bad request line %q", strings.TrimSpace(line))
	}
	if f[0] != "GET" {
		return "", false, fmt.Errorf("method %s: only GET", f[0])
	}
	closeAfter = f[2] == "HTTP/1.0"
	for n := 0; ; n++ {
		h, err := r.ReadString('\n')
		if err != nil {
			return "", false, err
		}
		h = strings.TrimRight(h, "\r\n")
		if h == "" {
			break
		}
		if n > 100 {
			return "", false, errors.New("too many header lines")
		}
		k, v, _ := strings.Cut(h, ":")
		if strings.EqualFold(k, "Connection") && strings.EqualFold(strings.TrimSpace(v), "close") {
			closeAfter = true
		}
	}
	return f[1], closeAfter, nil
}

// Client talks to one serving probe over one kept-alive TCP connection.
// Dial, when set, makes that connection (the lab host dials from inside
// the lab namespace this way).
type Client struct {
	Addr string // host:port
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	conn net.Conn
	r    *bufio.Reader
}

// Close drops the connection.
func (c *Client) Close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// get sends GET path and returns the body's length and a reader of it;
// the caller reads it all before the next request.
func (c *Client) get(ctx context.Context, path string) (int64, io.Reader, error) {
	if c.conn == nil {
		dial := c.Dial
		if dial == nil {
			dial = (&net.Dialer{}).DialContext
		}
		conn, err := dial(ctx, "tcp", c.Addr)
		if err != nil {
			return 0, nil, err
		}
		c.conn, c.r = conn, bufio.NewReaderSize(conn, 64<<10)
	}
	if dl, ok := ctx.Deadline(); ok {
		c.conn.SetDeadline(dl)
	} else {
		c.conn.SetDeadline(time.Time{})
	}
	if _, err := fmt.Fprintf(c.conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, c.Addr); err != nil {
		c.Close()
		return 0, nil, err
	}
	status, err := c.r.ReadString('\n')
	if err != nil {
		c.Close()
		return 0, nil, fmt.Errorf("GET %s from %s: %w", path, c.Addr, err)
	}
	length := int64(-1)
	for {
		h, err := c.r.ReadString('\n')
		if err != nil {
			c.Close()
			return 0, nil, err
		}
		h = strings.TrimRight(h, "\r\n")
		if h == "" {
			break
		}
		if k, v, _ := strings.Cut(h, ":"); strings.EqualFold(k, "Content-Length") {
			length, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	if f := strings.Fields(status); len(f) < 2 || f[1] != "200" || length < 0 {
		c.Close()
		return 0, nil, fmt.Errorf("GET %s from %s: %s", path, c.Addr, strings.TrimSpace(status))
	}
	return length, io.LimitReader(c.r, length), nil
}

// Report fetches the peer's report.
func (c *Client) Report(ctx context.Context) (report.Report, error) {
	_, body, err := c.get(ctx, "/")
	if err != nil {
		return report.Report{}, err
	}
	b, err := io.ReadAll(body)
	if err != nil {
		c.Close()
		return report.Report{}, err
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return report.Report{}, fmt.Errorf("decode report from %s: %w", c.Addr, err)
	}
	return r, nil
}

// Ping makes one request/response round trip and returns its time.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	_, body, err := c.get(ctx, "/ping")
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		c.Close()
		return 0, err
	}
	return time.Since(t0), nil
}

// Stream reads n bytes in one TCP stream and returns the time it took.
func (c *Client) Stream(ctx context.Context, n int64) (time.Duration, error) {
	t0 := time.Now()
	_, body, err := c.get(ctx, "/bytes?n="+strconv.FormatInt(n, 10))
	if err != nil {
		return 0, err
	}
	got, err := io.Copy(io.Discard, body)
	if err == nil && got != n {
		err = fmt.Errorf("stream from %s: %d of %d bytes", c.Addr, got, n)
	}
	if err != nil {
		c.Close()
		return 0, err
	}
	return time.Since(t0), nil
}

// Measure makes one warm-up round trip, then pings timed ones, then one
// stream of streamBytes (none when 0).
func (c *Client) Measure(ctx context.Context, pings int, streamBytes int64) report.NetBench {
	b := report.NetBench{Peer: c.Addr}
	if _, err := c.Ping(ctx); err != nil {
		b.Error = err.Error()
		return b
	}
	rtts := make([]float64, 0, pings)
	for range pings {
		d, err := c.Ping(ctx)
		if err != nil {
			b.Error = err.Error()
			return b
		}
		rtts = append(rtts, float64(d.Nanoseconds())/1e3)
	}
	if len(rtts) > 0 {
		sort.Float64s(rtts)
		sum := 0.0
		for _, r := range rtts {
			sum += r
		}
		b.RoundTrips = len(rtts)
		b.RTTP50us = rtts[len(rtts)/2]
		b.RTTP99us = rtts[min(len(rtts)-1, len(rtts)*99/100)]
		b.RTTMeanus = sum / float64(len(rtts))
	}
	if streamBytes > 0 {
		d, err := c.Stream(ctx, streamBytes)
		if err != nil {
			b.Error = err.Error()
			return b
		}
		b.StreamBytes = streamBytes
		b.StreamMBps = float64(streamBytes) / 1e6 / d.Seconds()
	}
	return b
}
