package netprobe

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/guest/report"
)

func serveLoopback(t *testing.T, rep report.Report) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go Serve(ln, rep)
	return ln.Addr().String()
}

// The client fetches the served report, and measures round trips and a
// stream over one connection.
func TestServeAndMeasure(t *testing.T) {
	addr := serveLoopback(t, report.Report{Hostname: "peer", BootID: "b-1", NICs: []report.NIC{{Name: "eth0", Addrs: []string{"10.88.0.2/24"}}}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := &Client{Addr: addr}
	defer c.Close()
	r, err := c.Report(ctx)
	if err != nil || r.Hostname != "peer" || r.BootID != "b-1" || r.NICs[0].Addrs[0] != "10.88.0.2/24" {
		t.Fatalf("Report = %+v, %v", r, err)
	}
	first := c.conn
	b := c.Measure(ctx, 20, 4<<20)
	if b.Error != "" || b.RoundTrips != 20 || b.StreamBytes != 4<<20 || b.RTTP50us <= 0 || b.StreamMBps <= 0 {
		t.Fatalf("Measure = %+v", b)
	}
	if c.conn != first {
		t.Errorf("the client opened a new connection: round trips were not on one kept-alive connection")
	}
}

// A client that asks to close (busybox wget does) gets one answer and the
// end of the connection; bad requests get 400, unknown paths 404.
func TestServeProtocol(t *testing.T) {
	addr := serveLoopback(t, report.Report{Hostname: "peer"})
	for _, c := range []struct{ req, status, body string }{
		{"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK", `"hostname":"peer"`},
		{"GET /ping HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK", "pong"},
		{"GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 404 Not Found", "try"},
		{"GET /bytes?n=-1 HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request", "byte count"},
		{"POST / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request", "only GET"},
	} {
		conn, err := net.Dial("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write([]byte(c.req))
		all, err := io.ReadAll(bufio.NewReader(conn)) // ends: the server closed
		conn.Close()
		if err != nil {
			t.Errorf("%q: %v", c.req, err)
			continue
		}
		s := string(all)
		if !strings.HasPrefix(s, c.status) || !strings.Contains(s, c.body) {
			t.Errorf("%q answered %q, want %s with %q", c.req, s, c.status, c.body)
		}
	}
}
