package gateway

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCutStreamsAtShutdown: streams still running when the shutdown grace
// ends get the in-band error event and an aborted connection, and their
// usage is recorded (estimated from what was sent) before Wait returns.
func TestCutStreamsAtShutdown(t *testing.T) {
	recs := newRecords()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			_, _ = io.WriteString(w, sseChunk(i))
		}
		w.(http.Flusher).Flush()
		select { // the model keeps thinking
		case <-r.Context().Done():
		case <-release:
		}
	}
	h := newHarness(t, harnessOptions{recorder: recs}, &backend{id: "a", handler: slow})
	const n = 3
	type got struct {
		body string
		err  error
	}
	results := make(chan got, n)
	started := make(chan struct{}, n)
	for range n {
		go func() {
			resp := h.post("/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			line, _ := br.ReadString('\n') // the first event has arrived
			started <- struct{}{}
			rest, err := io.ReadAll(br)
			results <- got{line + string(rest), err}
		}()
	}
	for range n {
		<-started
	}
	if cut := h.gw.Cut(context.Background()); cut != n {
		t.Errorf("Cut ended %d streams, want %d", cut, n)
	}
	for range n {
		r := <-results
		if r.err == nil {
			t.Errorf("a cut stream ended cleanly; want an aborted connection")
		}
		if !strings.Contains(r.body, `"code":"stream_interrupted"`) || !strings.Contains(r.body, "shutting down") || strings.Contains(r.body, "[DONE]") {
			t.Errorf("cut stream body %q, want the in-band error saying the gateway is shutting down, and no [DONE]", r.body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // liveness bound
	defer cancel()
	if err := h.gw.Wait(ctx); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	for i := 1; i <= n; i++ {
		rec := recs.wait(t, i)
		if rec.Status != http.StatusOK || !rec.Stream || !rec.Estimated || rec.CompletionTokens == 0 {
			t.Errorf("record %d: %+v, want a stream record with its tokens estimated", i, rec)
		}
	}
	// A stream that starts after the cut is cut at once.
	resp := h.post("/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || !strings.Contains(string(body), "shutting down") {
		t.Errorf("a stream started after the cut: %q, %v; want it cut too", body, err)
	}
	// The deployment was not blamed.
	for _, s := range h.router.Status() {
		if s.Failures != 0 {
			t.Errorf("deployment %s has %d failures after a shutdown cut, want 0", s.ID, s.Failures)
		}
	}
}
