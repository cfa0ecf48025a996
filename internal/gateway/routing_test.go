package gateway

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
)

const azure429 = `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-05-01-preview have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 20 seconds."}}`

func TestRoundRobinAlternates(t *testing.T) {
	h := newHarness(t, harnessOptions{},
		&backend{id: "a", handler: okChat("a")},
		&backend{id: "b", handler: okChat("b")},
	)
	var got []string
	for range 4 {
		code, dep, _ := h.chat()
		if code != http.StatusOK {
			t.Fatalf("status = %d, want 200", code)
		}
		got = append(got, dep)
	}
	if got[0] == got[1] || got[0] != got[2] || got[1] != got[3] {
		t.Errorf("deployments = %v, want strict alternation", got)
	}
}

func TestRateLimitedDeploymentCoolsDownAndReturns(t *testing.T) {
	h := newHarness(t, harnessOptions{},
		&backend{id: "a", handler: status(429, azure429, "Retry-After", "20")},
		&backend{id: "b", handler: okChat("b")},
	)
	// Whichever goes first, every answer comes from b and the client never
	// sees the 429.
	for i := range 6 {
		resp := h.post("/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status = %d, want 200", i, resp.StatusCode)
		}
		if got := resp.Header.Get("X-Spillway-Deployment"); got != "b" {
			t.Fatalf("request %d: deployment = %q, want b", i, got)
		}
	}
	if got := h.ups["a"].count(); got != 1 {
		t.Errorf("a was tried %d times while cooling, want 1", got)
	}
	h.clock.Advance(19 * time.Second)
	h.chat()
	if got := h.ups["a"].count(); got != 1 {
		t.Errorf("after 19s a was tried %d times, want still 1", got)
	}
	h.clock.Advance(1 * time.Second)
	h.chat()
	h.chat()
	if got := h.ups["a"].count(); got != 2 {
		t.Errorf("after 20s a was tried %d times, want 2 (back in rotation)", got)
	}
}

func TestFailoverHeaders(t *testing.T) {
	h := newHarness(t, harnessOptions{strategy: "least-inflight"},
		&backend{id: "a", priority: 1, handler: status(503, `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`)},
		&backend{id: "b", priority: 2, handler: okChat("b")},
	)
	resp := h.post("/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`)
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, body)
	}
	for k, want := range map[string]string{"X-Spillway-Deployment": "b", "X-Spillway-Attempts": "2"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if got := resp.Header.Get("X-Request-Id"); !strings.HasPrefix(got, "req_") {
		t.Errorf("X-Request-Id = %q, want a req_ id", got)
	}
}

// TestUpstreamRequestIDBeside: an upstream's own X-Request-Id (OpenAI and
// Azure send one) does not replace the gateway's, which names the usage
// record; it is passed on as X-Upstream-Request-Id.
func TestUpstreamRequestIDBeside(t *testing.T) {
	ok := okChat("a")
	h := newHarness(t, harnessOptions{},
		&backend{id: "a", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", "upstream-7f3a")
			// Another gateway in front of the upstream passes on its
			// upstream's id too; the nearest upstream's wins.
			w.Header().Set("X-Upstream-Request-Id", "further-up")
			ok(w, r)
		}},
	)
	resp := h.post("/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`)
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, body)
	}
	if got := resp.Header.Values("X-Request-Id"); len(got) != 1 || !strings.HasPrefix(got[0], "req_") {
		t.Errorf("X-Request-Id = %q, want one req_ id", got)
	}
	if got, want := resp.Header.Get("X-Upstream-Request-Id"), "upstream-7f3a"; got != want {
		t.Errorf("X-Upstream-Request-Id = %q, want %q", got, want)
	}
}

func TestEveryDeploymentCoolingGives429WithSoonestRetryAfter(t *testing.T) {
	h := newHarness(t, harnessOptions{},
		&backend{id: "a", handler: status(429, azure429, "Retry-After", "20")},
		&backend{id: "b", handler: status(429, azure429, "Retry-After", "7", "Retry-After-Ms", "6500")},
	)
	resp := h.post("/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`)
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status = %d, want 429", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Retry-After"), "7"; got != want {
		t.Errorf("Retry-After = %q, want %q (6.5s rounded up)", got, want)
	}
	checkErrorBody(t, body, "rate_limit_exceeded")
	// Later requests do not reach any upstream until one recovers.
	h.clock.Advance(3 * time.Second)
	resp = h.post("/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`)
	resp.Body.Close()
	if got, want := resp.Header.Get("Retry-After"), "4"; got != want {
		t.Errorf("after 3s Retry-After = %q, want %q", got, want)
	}
	if got := h.ups["a"].count() + h.ups["b"].count(); got != 2 {
		t.Errorf("upstream hits = %d, want 2 (no traffic while cooling)", got)
	}
}

func TestPriorityTiersSpillAndReturn(t *testing.T) {
	var throttled atomic.Bool
	throttled.Store(true)
	ptu := &backend{id: "ptu", priority: 1, handler: func(w http.ResponseWriter, r *http.Request) {
		if throttled.Load() {
			status(429, azure429, "Retry-After", "10")(w, r)
			return
		}
		okChat("ptu")(w, r)
	}}
	h := newHarness(t, harnessOptions{},
		ptu,
		&backend{id: "payg-1", priority: 2, handler: okChat("payg-1")},
		&backend{id: "payg-2", priority: 2, handler: okChat("payg-2")},
	)
	throttled.Store(false)
	for range 3 {
		if _, dep, _ := h.chat(); dep != "ptu" {
			t.Fatalf("deployment = %q, want ptu while it has capacity", dep)
		}
	}
	throttled.Store(true)
	seen := map[string]int{}
	for range 4 {
		_, dep, _ := h.chat()
		seen[dep]++
	}
	if seen["payg-1"] != 2 || seen["payg-2"] != 2 {
		t.Errorf("spill-over answers = %v, want payg-1 and payg-2 twice each", seen)
	}
	throttled.Store(false)
	h.clock.Advance(10 * time.Second)
	if _, dep, _ := h.chat(); dep != "ptu" {
		t.Errorf("after the cooldown deployment = %q, want ptu again", dep)
	}
}

func TestCallerErrorIsPassedThroughNotRetried(t *testing.T) {
	const filtered = `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}`
	h := newHarness(t, harnessOptions{},
		&backend{id: "a", handler: status(400, filtered, "apim-request-id", "abc")},
		&backend{id: "b", handler: status(400, filtered, "apim-request-id", "abc")},
	)
	resp := h.post("/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`)
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	if body != filtered {
		t.Errorf("body = %s, want the upstream's body unchanged", body)
	}
	if got := resp.Header.Get("X-Spillway-Attempts"); got != "1" {
		t.Errorf("attempts = %s, want 1", got)
	}
	if got := h.ups["a"].count() + h.ups["b"].count(); got != 1 {
		t.Errorf("upstream hits = %d, want 1", got)
	}
}

func TestConnectionRefusedFailsOver(t *testing.T) {
	h := newHarness(t, harnessOptions{},
		&backend{id: "down", priority: 1, endpoint: closedURL(t)},
		&backend{id: "up", priority: 2, handler: okChat("up")},
	)
	code, dep, body := h.chat()
	if code != http.StatusOK || dep != "up" {
		t.Errorf("status %d from %q, want 200 from up; body %s", code, dep, body)
	}
}

func TestAllFailingGives502NamingTheCause(t *testing.T) {
	h := newHarness(t, harnessOptions{},
		&backend{id: "a", handler: status(500, `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`)},
		&backend{id: "b", endpoint: closedURL(t)},
	)
	resp := h.post("/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`)
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status = %d, want 502; body %s", resp.StatusCode, body)
	}
	checkErrorBody(t, body, "upstream_error")
	if got := resp.Header.Get("X-Spillway-Attempts"); got != "2" {
		t.Errorf("attempts = %s, want 2", got)
	}
	if strings.Contains(body, "upstream-secret") {
		t.Errorf("body leaks an upstream key: %s", body)
	}
}

func TestFirstByteTimeoutFailsOverAndAllTimeoutsGive504(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	h := newHarness(t, harnessOptions{firstByte: 100 * time.Millisecond},
		&backend{id: "slow", priority: 1, handler: hang},
		&backend{id: "fast", priority: 2, handler: okChat("fast")},
	)
	if code, dep, _ := h.chat(); code != http.StatusOK || dep != "fast" {
		t.Errorf("status %d from %q, want 200 from fast", code, dep)
	}

	h2 := newHarness(t, harnessOptions{firstByte: 50 * time.Millisecond, noRetries: true},
		&backend{id: "slow", handler: hang},
	)
	resp := h2.post("/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`)
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("status = %d, want 504; body %s", resp.StatusCode, body)
	}
	checkErrorBody(t, body, "upstream_timeout")
}

func TestCircuitOpensAfterThresholdAndProbesBack(t *testing.T) {
	var healthy atomic.Bool
	flaky := &backend{id: "flaky", priority: 1, handler: func(w http.ResponseWriter, r *http.Request) {
		if healthy.Load() {
			okChat("flaky")(w, r)
			return
		}
		status(500, `{"error":{"message":"x","type":"server_error","param":null,"code":null}}`)(w, r)
	}}
	h := newHarness(t, harnessOptions{threshold: 3, circuitOpen: time.Minute},
		flaky,
		&backend{id: "backup", priority: 2, handler: okChat("backup")},
	)
	for range 5 {
		if code, dep, _ := h.chat(); code != 200 || dep != "backup" {
			t.Fatalf("status %d from %q, want 200 from backup", code, dep)
		}
	}
	if got := flaky.count(); got != 3 {
		t.Errorf("flaky tried %d times, want 3 (then the circuit opens)", got)
	}
	healthy.Store(true)
	h.clock.Advance(time.Minute)
	if _, dep, _ := h.chat(); dep != "flaky" {
		t.Errorf("after the open period deployment = %q, want the flaky one probed", dep)
	}
	if _, dep, _ := h.chat(); dep != "flaky" {
		t.Errorf("after a good probe deployment = %q, want flaky (circuit closed)", dep)
	}
}

func TestModelFallbacks(t *testing.T) {
	h := newHarness(t, harnessOptions{models: map[string]config.Model{"gpt-4o": {Fallbacks: []string{"gpt-4o-mini"}}}},
		&backend{id: "big", handler: status(503, `{"error":{"message":"x","type":"server_error","param":null,"code":null}}`)},
		&backend{id: "small", model: "gpt-4o-mini", handler: okChat("small")},
	)
	code, dep, _ := h.chat()
	if code != http.StatusOK || dep != "small" {
		t.Errorf("status %d from %q, want 200 from the fallback", code, dep)
	}
}

func TestContextWindowFallback(t *testing.T) {
	const tooLong = `{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`
	h := newHarness(t, harnessOptions{models: map[string]config.Model{"gpt-4o": {ContextWindowFallback: "gpt-4o-128k"}}},
		&backend{id: "short", handler: status(400, tooLong)},
		&backend{id: "long", model: "gpt-4o-128k", handler: okChat("long")},
	)
	if code, dep, _ := h.chat(); code != http.StatusOK || dep != "long" {
		t.Errorf("status %d from %q, want 200 from the long-context model", code, dep)
	}

	// Without a fallback the caller gets the upstream's answer as-is.
	h2 := newHarness(t, harnessOptions{}, &backend{id: "short", handler: status(400, tooLong)})
	code, _, body := h2.chat()
	if code != http.StatusBadRequest || body != tooLong {
		t.Errorf("got %d %s, want 400 with the upstream body", code, body)
	}
}

func TestOpenAIProviderGetsUpstreamModelAndBearer(t *testing.T) {
	var gotPath, gotAuth, gotBody, gotAPIKey string
	h := newHarness(t, harnessOptions{}, &backend{id: "oai", provider: config.ProviderOpenAI, upName: "gpt-4o-2024-08-06", handler: func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAuth, gotAPIKey = r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Api-Key")
		gotBody = readAll(t, r.Body)
		okChat("oai")(w, r)
	}})
	if code, _, _ := h.chat(); code != 200 {
		t.Fatalf("status = %d", code)
	}
	if gotPath != "/v1/chat/completions" {
		t.Errorf("path = %q, want /v1/chat/completions", gotPath)
	}
	if gotAuth != "Bearer upstream-secret-oai" || gotAPIKey != "" {
		t.Errorf("auth = %q / api-key %q, want the upstream key as a bearer token only", gotAuth, gotAPIKey)
	}
	if want := `{"model":"gpt-4o-2024-08-06","messages":[{"role":"user","content":"hi"}]}`; gotBody != want {
		t.Errorf("body = %s, want %s", gotBody, want)
	}
}

func TestAzureRouteUsesPathModelAndUpstreamKey(t *testing.T) {
	var gotURL, gotKey, gotClientAuth string
	h := newHarness(t, harnessOptions{}, &backend{id: "az", upName: "gpt4o-prod", handler: func(w http.ResponseWriter, r *http.Request) {
		gotURL, gotKey, gotClientAuth = r.URL.String(), r.Header.Get("Api-Key"), r.Header.Get("Authorization")
		okChat("az")(w, r)
	}})
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/openai/deployments/gpt-4o/chat/completions?api-version=2024-02-01", strings.NewReader(`{"messages":[]}`))
	req.Header.Set("api-key", testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if want := "/openai/deployments/gpt4o-prod/chat/completions?api-version=" + config.DefaultAPIVersion; gotURL != want {
		t.Errorf("upstream URL = %q, want %q", gotURL, want)
	}
	if gotKey != "upstream-secret-az" || gotClientAuth != "" {
		t.Errorf("upstream api-key = %q, authorization = %q; want the deployment's key and no client credential", gotKey, gotClientAuth)
	}
}

func TestClassMismatchIsUnknownModel(t *testing.T) {
	h := newHarness(t, harnessOptions{},
		&backend{id: "chat", handler: okChat("chat")},
		&backend{id: "emb", model: "text-embedding-3-small", class: config.ClassEmbeddings, handler: okChat("emb")},
	)
	resp := h.post("/v1/embeddings", `{"model":"gpt-4o","input":"x"}`)
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", resp.StatusCode)
	}
	if !strings.Contains(body, "text-embedding-3-small") {
		t.Errorf("body %s does not name the available embedding model", body)
	}
	if h.ups["chat"].count() != 0 {
		t.Errorf("the chat deployment was called for an embeddings request")
	}
}
