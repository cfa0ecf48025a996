package gateway

import (
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/testenv"
)

// TestTeamRPMAcrossReplicas: two gateways counting in one Redis hold the
// two keys of team red (rpm 3) to 3 requests in all, whichever replica
// and key each request uses. Without Redis the test skips (fails under
// CI): testenv decides.
func TestTeamRPMAcrossReplicas(t *testing.T) {
	opts, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	clock := newClock()
	lim := limits.NewRedis(client, "spillway-test:"+rand.Text()+":", clock.Now)
	up := httptest.NewServer(&accessTestUpstream{})
	t.Cleanup(up.Close)
	deps := slices.Clone(accessTestDeployments)
	for i := range deps {
		deps[i].Endpoint = up.URL
	}
	var replicas []*httptest.Server
	for range 2 {
		r, err := router.New(router.Options{Now: clock.Now, Limiter: lim}, deps)
		if err != nil {
			t.Fatal(err)
		}
		keys := auth.NewKeyring(nil, clock.Now)
		keys.LoadAccess(accessTestKeys, accessTestEvents, accessTestTeams)
		tr := NewTransport(2*time.Second, 10*time.Second)
		t.Cleanup(tr.CloseIdleConnections)
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		srv := httptest.NewServer(New(Options{Router: r, Auth: keys, Transport: tr, Logger: logger,
			Access: access.New(access.Options{Limiter: lim, Now: clock.Now, Logger: logger})}))
		t.Cleanup(srv.Close)
		replicas = append(replicas, srv)
	}
	counts := map[int]int{}
	for i := range 8 {
		srv := replicas[i%2]
		key := []string{"sk-team-red-1", "sk-team-red-2"}[(i/2)%2]
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		counts[resp.StatusCode]++
	}
	if counts[http.StatusOK] != 3 || counts[http.StatusTooManyRequests] != 5 {
		t.Errorf("8 requests of team red (rpm 3) across 2 replicas: %v; want exactly 3 admitted and 5 refused", counts)
	}
}
