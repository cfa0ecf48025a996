//go:build unix

package gateway

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// readAheadPair returns a readAheadConn and the other end of its socket.
func readAheadPair(t *testing.T) (*readAheadConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); peer.Close() })
	rc, ok := newReadAheadConn(c).(*readAheadConn)
	if !ok {
		t.Fatal("a TCP connection was not wrapped")
	}
	return rc, peer
}

// TestReadAheadTakesWhatTheSocketHolds checks that a small read (the
// transport's read buffer) takes everything already sent in one read,
// hands it out in order, and gives the buffer back once it is all out.
func TestReadAheadTakesWhatTheSocketHolds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sent  int
		read  int
		ahead int // bytes held ahead after the first read
	}{
		{"one event", 300, 1 << 10, 0},
		{"a burst of events", 3000, 1 << 10, 3000 - 1<<10},
		{"a large read", 3000, readAheadSize, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, peer := readAheadPair(t)
			sent := bytes.Repeat([]byte("0123456789abcdef"), tc.sent/16+1)[:tc.sent]
			if _, err := peer.Write(sent); err != nil {
				t.Fatal(err)
			}
			// Let the bytes arrive whole before the first read.
			time.Sleep(50 * time.Millisecond)
			var got []byte
			p := make([]byte, tc.read)
			n, err := rc.Read(p)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p[:n]...)
			if held := rc.end - rc.off; rc.ahead == nil && tc.ahead > 0 || rc.ahead != nil && held != tc.ahead {
				t.Fatalf("after the first read: %d bytes held ahead (buffer %v), want %d", held, rc.ahead != nil, tc.ahead)
			}
			for len(got) < len(sent) {
				n, err := rc.Read(p)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, p[:n]...)
			}
			if !bytes.Equal(got, sent) {
				t.Fatalf("got %d bytes that differ from the %d sent", len(got), len(sent))
			}
			if rc.ahead != nil {
				t.Errorf("the read-ahead buffer is still held with nothing in it")
			}
		})
	}
}

// TestReadAheadErrors checks that the end of the stream, a closed
// connection and a deadline read as they do on a net.Conn.
func TestReadAheadErrors(t *testing.T) {
	t.Run("EOF", func(t *testing.T) {
		rc, peer := readAheadPair(t)
		_, _ = peer.Write([]byte("last"))
		peer.Close()
		got, err := io.ReadAll(rc)
		if string(got) != "last" || err != nil {
			t.Fatalf("got %q, %v; want %q, nil", got, err, "last")
		}
	})
	t.Run("closed while waiting", func(t *testing.T) {
		rc, _ := readAheadPair(t)
		errc := make(chan error, 1)
		go func() {
			_, err := rc.Read(make([]byte, 64))
			errc <- err
		}()
		time.Sleep(20 * time.Millisecond)
		rc.Close()
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("got %v, want net.ErrClosed", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		rc, _ := readAheadPair(t)
		_ = rc.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		_, err := rc.Read(make([]byte, 64))
		var op *net.OpError
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &op) || op.Op != "read" {
			t.Fatalf("got %v, want a read OpError of os.ErrDeadlineExceeded", err)
		}
	})
}
