package gateway

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestUpstreamConnBuffers pins the buffers every upstream connection
// keeps for its life, which a held stream keeps for minutes: 512 bytes
// each took 1 KiB off each held stream (spillway bench --streams).
func TestUpstreamConnBuffers(t *testing.T) {
	tr := NewTransport(time.Second, time.Second)
	for _, tc := range []struct {
		name       string
		got, limit int
	}{
		{"read buffer", tr.std.ReadBufferSize, 512},
		{"write buffer", tr.std.WriteBufferSize, 512},
		{"h1 read buffer", tr.h1.ReadBufferSize, 512},
		{"h1 write buffer", tr.h1.WriteBufferSize, 512},
	} {
		if tc.got > tc.limit {
			t.Errorf("upstream connection's %s is %d bytes, want at most %d: every held stream keeps it", tc.name, tc.got, tc.limit)
		}
	}
}

// TestStreamLargerThanReadBuffer streams, through the real transport,
// events and a header line larger than the upstream connection's read
// buffer: each event reaches the client whole, before the upstream sends
// the next one (the upstream waits for the client to have it).
func TestStreamLargerThanReadBuffer(t *testing.T) {
	event := func(n int) string {
		pad := max(0, n-len(sseChunk(0)))
		return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"pad\":\"" + strings.Repeat("p", pad) + "\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n"
	}
	events := []string{
		event(100),
		event(upstreamReadBuffer - 1),
		event(upstreamReadBuffer + 100),
		event(600), // Azure's, with its content-filter results
		event(streamBufSize + 300),
		event(3 * streamBurstSize),
		"data: [DONE]\n\n",
	}
	got := make(chan struct{})
	h := newHarness(t, harnessOptions{}, &backend{id: "a", handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Long", strings.Repeat("h", 3*upstreamReadBuffer))
		for _, e := range events {
			_, _ = w.Write([]byte(e))
			w.(http.Flusher).Flush()
			select {
			case <-got:
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Second):
				return
			}
		}
	}})
	resp := h.post("/v1/chat/completions", streamBody)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if got, want := len(resp.Header.Get("X-Long")), 3*upstreamReadBuffer; got != want {
		t.Errorf("X-Long header of %d bytes, want %d", got, want)
	}
	br := bufio.NewReader(resp.Body)
	for i, want := range events {
		var b strings.Builder
		for !strings.HasSuffix(b.String(), "\n\n") {
			line, err := br.ReadString('\n')
			b.WriteString(line)
			if err != nil {
				t.Fatalf("event %d: %v after %d bytes", i, err, b.Len())
			}
		}
		if got := b.String(); got != want {
			t.Fatalf("event %d: got %d bytes %.60q..., want %d bytes %.60q...", i, len(got), got, len(want), want)
		}
		got <- struct{}{}
	}
	if rest := readAll(t, br); rest != "" {
		t.Errorf("after the last event: %q", fmt.Sprint(rest))
	}
}

// TestMeterTextOverSaturates: the count of completion text past what a
// stream keeps is 32 bits (the meter sits in the exchange, which a held
// stream keeps): it stops at math.MaxInt32 instead of wrapping negative
// and taking tokens off the estimate.
func TestMeterTextOverSaturates(t *testing.T) {
	ev := []byte(sseChunk(0)) // "tok0": 4 bytes of text
	for _, tc := range []struct {
		name       string
		over, want int32
	}{
		{"counts", 10, 14},
		{"at the top", math.MaxInt32 - 2, math.MaxInt32},
		{"past the top", math.MaxInt32, math.MaxInt32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &meter{stream: true, text: make([]byte, maxStreamText), textOver: tc.over}
			m.inspect(ev)
			if got := m.textOver; got != tc.want {
				t.Errorf("textOver = %d, want %d", got, tc.want)
			}
			if got := m.completionTokens("gpt-4o"); got < 0 {
				t.Errorf("completionTokens = %d, want at least 0", got)
			}
		})
	}
}
