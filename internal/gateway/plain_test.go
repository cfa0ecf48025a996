package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/usage"
)

// plainTestGateway is the plain path as serve runs it: a static key
// without limits, through the access checker, answered by answer.
func plainTestGateway(t testing.TB, answer, contentType string) *Gateway {
	t.Helper()
	deps := []config.Deployment{{ID: "a", Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure,
		Endpoint: "http://127.0.0.1:1", Deployment: "gpt-4o", APIVersion: config.DefaultAPIVersion, APIKey: "k", Priority: 1, Weight: 1}}
	r, err := router.New(router.Options{}, deps)
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{
		Router:    r,
		Auth:      auth.NewStaticKeys([]auth.StaticKey{{Key: testKey}}),
		Transport: &cannedTransport{body: []byte(answer), header: http.Header{"Content-Type": {contentType}}},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Access:    access.New(access.Options{Limiter: limits.NewMemory(nil), Logger: slog.New(slog.DiscardHandler)}),
	})
}

// TestSettlePlainAllocatesNothing: settling a request of a key without
// limits, every request of the plain path, has nothing to correct and
// allocates nothing (it made a context of its own for the limiter).
func TestSettlePlainAllocatesNothing(t *testing.T) {
	g := plainTestGateway(t, benchChatResponse, "application/json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := &exchange{r: httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil).WithContext(ctx)}
	var err error
	if req.grant, err = g.access.Admit(ctx, &auth.Principal{KeyID: "k"}, access.Request{Model: "gpt-4o"}); err != nil {
		t.Fatal(err)
	}
	req.admitted = true
	rec := usage.Record{TotalTokens: 17, Cost: 0.001}
	if got := testing.AllocsPerRun(100, func() { g.settle(req, result{}, &rec) }); got != 0 {
		t.Errorf("settle allocated %v times per request, want 0", got)
	}
}
