package gateway

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/router"
)

// restartable is a mock upstream that can be stopped gracefully and
// started again on the same address, like a redeployed service.
type restartable struct {
	addr string
	srv  *http.Server
	done chan struct{}
}

func (u *restartable) start(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 100 { // the port may linger briefly after a stop
		if ln, err = net.Listen("tcp", u.addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("restart on %s: %v", u.addr, err)
	}
	u.addr = ln.Addr().String()
	u.srv = &http.Server{Handler: mock.New(mock.Options{Name: u.addr})}
	u.done = make(chan struct{})
	go func() { defer close(u.done); _ = u.srv.Serve(ln) }()
}

func (u *restartable) stop() {
	_ = u.srv.Shutdown(context.Background())
	<-u.done
}

// TestUpstreamRestartUnderLoadLosesNothing restarts one of two upstreams
// while clients keep sending: kept-alive connections it closes are retried
// on fresh ones, the refused ones fail over, and no client sees an error.
func TestUpstreamRestartUnderLoadLosesNothing(t *testing.T) {
	ups := []*restartable{{addr: "127.0.0.1:0"}, {addr: "127.0.0.1:0"}}
	var deps []config.Deployment
	for i, u := range ups {
		u.start(t)
		deps = append(deps, config.Deployment{ID: []string{"a", "b"}[i], Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure,
			Endpoint: "http://" + u.addr, Deployment: "gpt-4o", APIVersion: config.DefaultAPIVersion, Priority: 1, Weight: 1})
	}
	defer func() {
		for _, u := range ups {
			u.stop()
		}
	}()
	r, err := router.New(router.Options{}, deps)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTransport(time.Second, 10*time.Second)
	defer tr.CloseIdleConnections()
	gw := New(Options{Router: r, Transport: tr, Retries: 2,
		Auth:   auth.NewStaticKeys([]auth.StaticKey{{Key: testKey}}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	front := newServer(t, gw)

	const workers, perWorker = 8, 150
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	var sent atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				sent.Add(1)
				req, _ := http.NewRequest(http.MethodPost, front+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":4}`))
				req.Header.Set("Authorization", "Bearer "+testKey)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, string(b))
					continue
				}
				ok.Add(1)
			}
		}()
	}
	// Restart upstream a at a third and two thirds of the load.
	for k := int64(1); k <= 2; k++ {
		for sent.Load() < k*workers*perWorker/3 {
			time.Sleep(time.Millisecond)
		}
		ups[0].stop()
		ups[0].start(t)
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during upstream restarts; first: %v", failed.Load(), ok.Load()+failed.Load(), firstErr.Load())
	}
	if got, want := ok.Load(), int64(workers*perWorker); got != want {
		t.Errorf("succeeded %d, want %d", got, want)
	}
}

// newServer serves h on loopback until the test ends.
func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		<-done
	})
	return "http://" + ln.Addr().String()
}
