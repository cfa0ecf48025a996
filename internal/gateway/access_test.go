package gateway

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
)

// The access tests run the real gateway over HTTP with stored keys and
// events in an auth.Keyring, an access.Checker and the router's deployment
// limits on one memory limiter, and one injected clock for all of them.
// Every request starts at 2026-11-22 12:00 UTC (newClock).

// accessTestT0 is the clock's starting time.
var accessTestT0 = newClock().Now()

// accessTestEvents are the stored events.
var accessTestEvents = []store.Event{
	{ID: "live", Name: "Live", Start: accessTestT0.Add(-time.Hour), End: accessTestT0.Add(48 * time.Hour), TimeZone: "UTC", Active: true},
	{ID: "daily", Name: "Daily", Start: accessTestT0.Add(-time.Hour), End: accessTestT0.Add(48 * time.Hour), DailyRequestCap: 3, Active: true},
	{ID: "soon", Name: "Soon", Start: accessTestT0.Add(2 * time.Hour), End: accessTestT0.Add(6 * time.Hour), TimeZone: "Europe/Berlin", Active: true},
	{ID: "over", Name: "Over", Start: accessTestT0.Add(-6 * time.Hour), End: accessTestT0.Add(-2 * time.Hour), Active: true},
	{ID: "off", Name: "Switched Off", Start: accessTestT0.Add(-time.Hour), End: accessTestT0.Add(48 * time.Hour), Active: false},
	{ID: "gpt4o-only", Name: "GPT-4o only", Start: accessTestT0.Add(-time.Hour), End: accessTestT0.Add(48 * time.Hour), Models: []string{"gpt-4o"}, Active: true},
}

// accessTestKey is a stored key for the plaintext key sk-NAME.
func accessTestKey(id string, k store.Key) store.Key {
	k.ID = id
	h := auth.Hash("sk-" + id)
	k.Hash = h[:]
	return k
}

// accessTestKeys are the stored keys; key-x is sent as sk-key-x.
var accessTestKeys = []store.Key{
	accessTestKey("key-open", store.Key{Name: "open"}),
	accessTestKey("key-revoked", store.Key{RevokedAt: accessTestT0.Add(-time.Hour)}),
	accessTestKey("key-expired", store.Key{ExpiresAt: accessTestT0.Add(-time.Minute)}),
	accessTestKey("key-expiring", store.Key{ExpiresAt: accessTestT0.Add(time.Hour)}),
	accessTestKey("key-capped", store.Key{MaxTokens: 100}),
	accessTestKey("key-models", store.Key{Models: []string{"gpt-4o-mini", "text-embedding-3-small"}}),
	accessTestKey("key-rpm", store.Key{RPM: 2}),
	accessTestKey("key-limits", store.Key{RPM: 2, TPM: 1000}),
	accessTestKey("att-alice", store.Key{EventID: "live", Attendee: "alice@example.com"}),
	accessTestKey("att-bob", store.Key{EventID: "daily", Attendee: "bob@example.com"}),
	accessTestKey("att-dan", store.Key{EventID: "daily", Attendee: "dan@example.com"}),
	accessTestKey("att-soon", store.Key{EventID: "soon", Attendee: "sam@example.com"}),
	accessTestKey("att-over", store.Key{EventID: "over", Attendee: "otto@example.com"}),
	accessTestKey("att-eve", store.Key{EventID: "off", Attendee: "eve@example.com"}),
	accessTestKey("att-carol", store.Key{EventID: "gpt4o-only", Attendee: "carol@example.com"}),
	accessTestKey("team-red-1", store.Key{TeamID: "red"}),
	accessTestKey("team-red-2", store.Key{TeamID: "red", RPM: 10}),
	accessTestKey("team-mini", store.Key{TeamID: "mini-only"}),
}

// accessTestTeams are the stored teams.
var accessTestTeams = []store.Team{
	{ID: "red", Name: "Red", RPM: 3},
	{ID: "mini-only", Models: []string{"gpt-4o-mini"}},
	{ID: "pair", Name: "Pair", MaxParallel: 1},
}

// accessTestUpstream is one httptest server behind every deployment: it
// keeps the bodies it got and answers chat or embeddings.
type accessTestUpstream struct {
	mu     sync.Mutex
	bodies []string
}

func (u *accessTestUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.bodies = append(u.bodies, string(b))
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	// What Azure says of the deployment's own limit, which every caller
	// shares.
	w.Header().Set("X-Ratelimit-Remaining-Requests", "999")
	if strings.HasSuffix(r.URL.Path, "/embeddings") {
		_, _ = io.WriteString(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":2,"total_tokens":2}}`)
		return
	}
	_, _ = io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}}`)
}

// calls returns how many requests reached the upstream.
func (u *accessTestUpstream) calls() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.bodies)
}

// last returns the last body the upstream got, decoded.
func (u *accessTestUpstream) last(t *testing.T) map[string]any {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.bodies) == 0 {
		t.Fatal("the upstream got no request")
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(u.bodies[len(u.bodies)-1]), &m); err != nil {
		t.Fatalf("upstream body %q: %v", u.bodies[len(u.bodies)-1], err)
	}
	return m
}

type accessTestEnv struct {
	t     *testing.T
	clock *clock
	up    *accessTestUpstream
	recs  *records
	srv   *httptest.Server
}

// accessTestDeployment is a deployment of model on the test upstream.
func accessTestDeployment(id, model, class string, priority, rpm, tpm int) config.Deployment {
	return config.Deployment{
		ID: id, Model: model, Class: class, Provider: config.ProviderAzure, Deployment: model,
		APIVersion: config.DefaultAPIVersion, APIKey: "upstream-secret", Priority: priority, RPM: rpm, TPM: tpm,
	}
}

// accessTestDeployments serve gpt-4o, gpt-4o-mini and an embeddings
// model, without limits.
var accessTestDeployments = []config.Deployment{
	accessTestDeployment("chat", "gpt-4o", config.ClassChat, 1, 0, 0),
	accessTestDeployment("mini", "gpt-4o-mini", config.ClassChat, 1, 0, 0),
	accessTestDeployment("emb", "text-embedding-3-small", config.ClassEmbeddings, 1, 0, 0),
}

// newAccessTest starts a gateway with the stored keys and events, the
// max_tokens policy and deps (accessTestDeployments when nil).
func newAccessTest(t *testing.T, policy string, deps []config.Deployment) *accessTestEnv {
	t.Helper()
	e := &accessTestEnv{t: t, clock: newClock(), up: &accessTestUpstream{}, recs: newRecords()}
	upstream := httptest.NewServer(e.up)
	t.Cleanup(upstream.Close)
	if deps == nil {
		deps = accessTestDeployments
	}
	deps = slices.Clone(deps)
	for i := range deps {
		deps[i].Endpoint = upstream.URL
	}
	lim := limits.NewMemory(e.clock.Now)
	r, err := router.New(router.Options{Now: e.clock.Now, Cooldown: 30 * time.Second, Limiter: lim}, deps)
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	keys := auth.NewKeyring(nil, e.clock.Now)
	keys.LoadAccess(accessTestKeys, accessTestEvents, accessTestTeams)
	tr := NewTransport(2*time.Second, 10*time.Second)
	t.Cleanup(tr.CloseIdleConnections)
	gw := New(Options{
		Router: r, Auth: keys, Transport: tr, Recorder: e.recs,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Access: access.New(access.Options{Limiter: lim, Now: e.clock.Now, MaxTokensPolicy: policy, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}),
	})
	e.srv = httptest.NewServer(gw)
	t.Cleanup(e.srv.Close)
	return e
}

// accessTestResponse is what a client got.
type accessTestResponse struct {
	status int
	header http.Header
	body   string
}

// do sends a request with key (none when "") and returns what came back.
func (e *accessTestEnv) do(key, method, path, body string) accessTestResponse {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	return accessTestResponse{status: resp.StatusCode, header: resp.Header, body: readAll(e.t, resp.Body)}
}

// chat sends a chat request with key.
func (e *accessTestEnv) chat(key string) accessTestResponse {
	e.t.Helper()
	return e.do(key, http.MethodPost, "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
}

// accessTestError decodes an error body's code and message.
func accessTestError(t *testing.T, body string) (code, message string) {
	t.Helper()
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return b.Error.Code, b.Error.Message
}

// TestAccessRefusals: each refusal is answered by the gateway with the
// right status, code and message, before any upstream is asked, and is
// still recorded.
func TestAccessRefusals(t *testing.T) {
	chat := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name       string
		key        string
		body       string
		wantStatus int
		wantCode   string
		wantInMsg  []string
		wantEvent  string // the record's EventID
	}{
		{
			name: "unknown key", key: "sk-nobody", body: chat,
			wantStatus: http.StatusUnauthorized, wantCode: "invalid_api_key", wantInMsg: []string{"invalid API key"},
		},
		{
			name: "revoked key", key: "sk-key-revoked", body: chat,
			wantStatus: http.StatusUnauthorized, wantCode: "api_key_revoked", wantInMsg: []string{"key-revoked", "revoked", "2026-11-22T11:00:00Z"},
		},
		{
			name: "expired key", key: "sk-key-expired", body: chat,
			wantStatus: http.StatusUnauthorized, wantCode: "api_key_expired", wantInMsg: []string{"key-expired", "expired", "2026-11-22T11:59:00Z"},
		},
		{
			name: "event not started", key: "sk-att-soon", body: chat,
			wantStatus: http.StatusForbidden, wantCode: "event_not_active", wantInMsg: []string{"starts at", "Europe/Berlin", "2026-11-22T14:00:00Z"},
			wantEvent: "soon",
		},
		{
			name: "event over", key: "sk-att-over", body: chat,
			wantStatus: http.StatusForbidden, wantCode: "event_not_active", wantInMsg: []string{"ended at", "2026-11-22T10:00:00Z"},
			wantEvent: "over",
		},
		{
			name: "event switched off", key: "sk-att-eve", body: chat,
			wantStatus: http.StatusForbidden, wantCode: "event_not_active", wantInMsg: []string{`"Switched Off"`, "switched it off"},
			wantEvent: "off",
		},
		{
			name: "model not in the key's list", key: "sk-key-models", body: chat,
			wantStatus: http.StatusForbidden, wantCode: "model_not_allowed", wantInMsg: []string{`"gpt-4o"`, "allowed: gpt-4o-mini, text-embedding-3-small"},
		},
		{
			name: "model not in the event's list", key: "sk-att-carol", body: `{"model":"gpt-4o-mini","messages":[]}`,
			wantStatus: http.StatusForbidden, wantCode: "model_not_allowed", wantInMsg: []string{`"gpt-4o-mini"`, "allowed: gpt-4o"},
			wantEvent: "gpt4o-only",
		},
		{
			name: "max_tokens above the cap", key: "sk-key-capped", body: `{"model":"gpt-4o","max_tokens":500,"messages":[]}`,
			wantStatus: http.StatusBadRequest, wantCode: "max_tokens_exceeded", wantInMsg: []string{"max_tokens 500", "cap of 100"},
		},
		{
			name: "max_completion_tokens above the cap", key: "sk-key-capped", body: `{"model":"gpt-4o","max_completion_tokens":101,"messages":[]}`,
			wantStatus: http.StatusBadRequest, wantCode: "max_tokens_exceeded", wantInMsg: []string{"cap of 100"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAccessTest(t, access.PolicyReject, nil)
			resp := e.do(tt.key, http.MethodPost, "/v1/chat/completions", tt.body)
			if got, want := resp.status, tt.wantStatus; got != want {
				t.Fatalf("status = %d, want %d; body %s", got, want, resp.body)
			}
			checkErrorBody(t, resp.body, tt.wantCode)
			_, msg := accessTestError(t, resp.body)
			for _, s := range tt.wantInMsg {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not contain %q", msg, s)
				}
			}
			if got, want := e.up.calls(), 0; got != want {
				t.Errorf("upstream calls = %d, want %d", got, want)
			}
			rec := e.recs.wait(t, 1)
			if got, want := rec.Status, tt.wantStatus; got != want {
				t.Errorf("record status = %d, want %d", got, want)
			}
			if got, want := rec.EventID, tt.wantEvent; got != want {
				t.Errorf("record EventID = %q, want %q", got, want)
			}
			if rec.Deployment != "" || rec.Attempts != 0 || rec.TotalTokens != 0 {
				t.Errorf("record = %+v, want no deployment, attempt or tokens", rec)
			}
		})
	}
}

// TestAccessFollowsTheClock: expiry and an event's window are judged by
// the injected clock, shared by the keyring and the checker.
func TestAccessFollowsTheClock(t *testing.T) {
	e := newAccessTest(t, access.PolicyReject, nil)
	steps := []struct {
		advance    time.Duration
		key        string
		wantStatus int
		wantCode   string
	}{
		{key: "sk-key-expiring", wantStatus: http.StatusOK},
		{key: "sk-att-soon", wantStatus: http.StatusForbidden, wantCode: "event_not_active"},
		{advance: time.Hour - time.Nanosecond, key: "sk-key-expiring", wantStatus: http.StatusOK},
		{advance: time.Nanosecond, key: "sk-key-expiring", wantStatus: http.StatusUnauthorized, wantCode: "api_key_expired"},
		{advance: time.Hour, key: "sk-att-soon", wantStatus: http.StatusOK}, // 14:00, the event starts
		{advance: 4 * time.Hour, key: "sk-att-soon", wantStatus: http.StatusForbidden, wantCode: "event_not_active"},
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		resp := e.chat(s.key)
		if got, want := resp.status, s.wantStatus; got != want {
			t.Fatalf("step %d (%s at %v): status = %d, want %d; body %s", i, s.key, e.clock.Now(), got, want, resp.body)
		}
		if s.wantCode != "" {
			checkErrorBody(t, resp.body, s.wantCode)
		}
	}
}

func TestAccessDailyCap(t *testing.T) {
	e := newAccessTest(t, access.PolicyReject, nil)
	e.clock.Advance(1500 * time.Millisecond)
	for i := range 3 {
		if resp := e.chat("sk-att-bob"); resp.status != http.StatusOK {
			t.Fatalf("request %d: status = %d, want 200; body %s", i+1, resp.status, resp.body)
		}
	}
	resp := e.chat("sk-att-bob")
	if got, want := resp.status, http.StatusTooManyRequests; got != want {
		t.Fatalf("request 4: status = %d, want %d; body %s", got, want, resp.body)
	}
	checkErrorBody(t, resp.body, "daily_request_cap_reached")
	if _, msg := accessTestError(t, resp.body); !strings.Contains(msg, "daily request cap of 3") || !strings.Contains(msg, "UTC midnight") {
		t.Errorf("message = %q, want it to name the cap of 3 and UTC midnight", msg)
	}
	// 12:00:01.5 to midnight is 43198.5s, rounded up.
	if got, want := resp.header.Get("Retry-After"), "43199"; got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
	if got, want := e.up.calls(), 3; got != want {
		t.Errorf("upstream calls = %d, want %d", got, want)
	}
	// A 200 is recorded after its response, so records may come in any order.
	e.recs.wait(t, 4)
	e.recs.mu.Lock()
	var statuses []int
	for _, rec := range e.recs.list {
		statuses = append(statuses, rec.Status)
		if rec.EventID != "daily" || rec.Attendee != "bob@example.com" {
			t.Errorf("record = %+v, want attendee bob@example.com of event daily", rec)
		}
	}
	e.recs.mu.Unlock()
	slices.Sort(statuses)
	if want := []int{200, 200, 200, 429}; !slices.Equal(statuses, want) {
		t.Errorf("recorded statuses = %v, want %v", statuses, want)
	}
	// Another attendee of the event has their own count.
	if resp := e.chat("sk-att-dan"); resp.status != http.StatusOK {
		t.Errorf("another attendee: status = %d, want 200", resp.status)
	}
	// At UTC midnight the cap resets.
	e.clock.Advance(12*time.Hour - 1500*time.Millisecond)
	if resp := e.chat("sk-att-bob"); resp.status != http.StatusOK {
		t.Errorf("after midnight: status = %d, want 200; body %s", resp.status, resp.body)
	}
}

func TestAccessMaxTokens(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		path   string
		body   string
		// want is the upstream body's field and value; a nil value means
		// the field is absent.
		field string
		want  any
	}{
		{
			name: "reject: below the cap is sent as is", policy: access.PolicyReject, path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","max_tokens":50,"messages":[]}`, field: "max_tokens", want: 50.0,
		},
		{
			name: "reject: at the cap is sent as is", policy: access.PolicyReject, path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","max_tokens":100,"messages":[]}`, field: "max_tokens", want: 100.0,
		},
		{
			name: "reject: without max_tokens the cap is written", policy: access.PolicyReject, path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, field: "max_tokens", want: 100.0,
		},
		{
			name: "reject: max_tokens null gets the cap", policy: access.PolicyReject, path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","max_tokens":null,"messages":[]}`, field: "max_tokens", want: 100.0,
		},
		{
			name: "clamp: above the cap is lowered to it", policy: access.PolicyClamp, path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","max_tokens":500,"messages":[]}`, field: "max_tokens", want: 100.0,
		},
		{
			name: "clamp: max_completion_tokens is lowered in place", policy: access.PolicyClamp, path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","max_completion_tokens":500,"messages":[]}`, field: "max_completion_tokens", want: 100.0,
		},
		{
			name: "clamp: without max_tokens the cap is written", policy: access.PolicyClamp, path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","messages":[]}`, field: "max_tokens", want: 100.0,
		},
		{
			name: "clamp: below the cap is sent as is", policy: access.PolicyClamp, path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","max_tokens":7,"messages":[]}`, field: "max_tokens", want: 7.0,
		},
		{
			name: "responses: without max_output_tokens the cap is written", policy: access.PolicyReject, path: "/v1/responses",
			body: `{"model":"gpt-4o","input":"hi"}`, field: "max_output_tokens", want: 100.0,
		},
		{
			name: "responses clamp: max_output_tokens is lowered", policy: access.PolicyClamp, path: "/v1/responses",
			body: `{"model":"gpt-4o","input":[{"role":"user","content":"hi"}],"max_output_tokens":5000}`, field: "max_output_tokens", want: 100.0,
		},
		{
			name: "responses: below the cap is sent as is", policy: access.PolicyReject, path: "/openai/v1/responses",
			body: `{"model":"gpt-4o","input":"hi","max_output_tokens":60}`, field: "max_output_tokens", want: 60.0,
		},
		{
			name: "embeddings are not capped", policy: access.PolicyReject, path: "/v1/embeddings",
			body: `{"model":"text-embedding-3-small","input":"hi"}`, field: "max_tokens", want: nil,
		},
		{
			name: "embeddings are not clamped", policy: access.PolicyClamp, path: "/v1/embeddings",
			body: `{"model":"text-embedding-3-small","input":"hi"}`, field: "max_tokens", want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAccessTest(t, tt.policy, nil)
			resp := e.do("sk-key-capped", http.MethodPost, tt.path, tt.body)
			if resp.status != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", resp.status, resp.body)
			}
			got := e.up.last(t)
			if v, ok := got[tt.field]; tt.want == nil && ok {
				t.Errorf("upstream %s = %v, want it absent", tt.field, v)
			} else if tt.want != nil && v != tt.want {
				t.Errorf("upstream %s = %v, want %v", tt.field, v, tt.want)
			}
			e.up.mu.Lock()
			sent := e.up.bodies[0]
			e.up.mu.Unlock()
			if n := strings.Count(sent, "max_"); tt.want != nil && n != 1 {
				t.Errorf("upstream body %s has %d max_ fields, want 1", sent, n)
			}
			if got["model"] == nil {
				t.Errorf("upstream body %v lost the model", got)
			}
		})
	}
}

func TestAccessResponsesCapRejected(t *testing.T) {
	e := newAccessTest(t, access.PolicyReject, nil)
	resp := e.do("sk-key-capped", http.MethodPost, "/v1/responses", `{"model":"gpt-4o","input":"hi","max_output_tokens":5000}`)
	code, msg := accessTestError(t, resp.body)
	if resp.status != http.StatusBadRequest || code != "max_tokens_exceeded" || !strings.Contains(msg, "max_output_tokens 5000 is above this key's cap of 100") {
		t.Errorf("status %d code %s message %q, want 400 naming max_output_tokens and the cap of 100", resp.status, code, msg)
	}
	if n := e.up.calls(); n != 0 {
		t.Errorf("the upstream got %d requests, want 0", n)
	}
}

func TestAccessListModels(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want []string
	}{
		{name: "unrestricted key", key: "sk-key-open", want: []string{"gpt-4o", "gpt-4o-mini", "text-embedding-3-small"}},
		{name: "key allow-list", key: "sk-key-models", want: []string{"gpt-4o-mini", "text-embedding-3-small"}},
		{name: "event allow-list", key: "sk-att-carol", want: []string{"gpt-4o"}},
		{name: "attendee of an unrestricted event", key: "sk-att-alice", want: []string{"gpt-4o", "gpt-4o-mini", "text-embedding-3-small"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAccessTest(t, access.PolicyReject, nil)
			resp := e.do(tt.key, http.MethodGet, "/v1/models", "")
			if resp.status != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", resp.status, resp.body)
			}
			var list struct {
				Data []struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(resp.body), &list); err != nil {
				t.Fatalf("body %q: %v", resp.body, err)
			}
			var got []string
			for _, m := range list.Data {
				got = append(got, m.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("models mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("revoked key", func(t *testing.T) {
		e := newAccessTest(t, access.PolicyReject, nil)
		resp := e.do("sk-key-revoked", http.MethodGet, "/v1/models", "")
		if got, want := resp.status, http.StatusUnauthorized; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		checkErrorBody(t, resp.body, "api_key_revoked")
	})
}

func TestAccessKeyRPM(t *testing.T) {
	e := newAccessTest(t, access.PolicyReject, nil)
	e.clock.Advance(20 * time.Second)
	for i := range 2 {
		if resp := e.chat("sk-key-rpm"); resp.status != http.StatusOK {
			t.Fatalf("request %d: status = %d, want 200; body %s", i+1, resp.status, resp.body)
		}
	}
	resp := e.chat("sk-key-rpm")
	if got, want := resp.status, http.StatusTooManyRequests; got != want {
		t.Fatalf("request 3: status = %d, want %d; body %s", got, want, resp.body)
	}
	checkErrorBody(t, resp.body, "rate_limit_exceeded")
	if got, want := resp.header.Get("Retry-After"), "40"; got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
	if _, msg := accessTestError(t, resp.body); !strings.Contains(msg, "2 requests per minute") {
		t.Errorf("message = %q, want it to name the limit", msg)
	}
	if got, want := e.up.calls(), 2; got != want {
		t.Errorf("upstream calls = %d, want %d", got, want)
	}
	// Another key is not limited by this one.
	if resp := e.chat("sk-key-open"); resp.status != http.StatusOK {
		t.Errorf("another key: status = %d, want 200", resp.status)
	}
	e.clock.Advance(40 * time.Second)
	if resp := e.chat("sk-key-rpm"); resp.status != http.StatusOK {
		t.Errorf("next minute: status = %d, want 200; body %s", resp.status, resp.body)
	}
}

func TestAccessUsageRecords(t *testing.T) {
	tests := []struct {
		name         string
		key          string
		wantKey      string
		wantEvent    string
		wantAttendee string
	}{
		{name: "attendee key", key: "sk-att-alice", wantKey: "att-alice", wantEvent: "live", wantAttendee: "alice@example.com"},
		{name: "plain key", key: "sk-key-open", wantKey: "key-open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAccessTest(t, access.PolicyReject, nil)
			if resp := e.chat(tt.key); resp.status != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", resp.status, resp.body)
			}
			rec := e.recs.wait(t, 1)
			type view struct {
				KeyID, EventID, Attendee, Deployment string
				Status, TotalTokens                  int
			}
			got := view{rec.KeyID, rec.EventID, rec.Attendee, rec.Deployment, rec.Status, rec.TotalTokens}
			want := view{tt.wantKey, tt.wantEvent, tt.wantAttendee, "chat", http.StatusOK, 6}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("record mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAccessDeploymentRPM: deployments at their rpm are skipped like
// cooling ones, traffic spills to the next tier, and when all are full the
// client gets a 429 with the window's end.
func TestAccessDeploymentRPM(t *testing.T) {
	e := newAccessTest(t, access.PolicyReject, []config.Deployment{
		accessTestDeployment("t1a", "gpt-4o", config.ClassChat, 1, 1, 0),
		accessTestDeployment("t1b", "gpt-4o", config.ClassChat, 1, 1, 0),
		accessTestDeployment("t2", "gpt-4o", config.ClassChat, 2, 1, 0),
	})
	e.clock.Advance(20 * time.Second)
	var got []string
	for i := range 3 {
		resp := e.chat("sk-key-open")
		if resp.status != http.StatusOK {
			t.Fatalf("request %d: status = %d, want 200; body %s", i+1, resp.status, resp.body)
		}
		got = append(got, resp.header.Get("X-Spillway-Deployment"))
	}
	slices.Sort(got[:2])
	if want := []string{"t1a", "t1b", "t2"}; !cmp.Equal(got, want) {
		t.Errorf("deployments = %v, want tier 1's two (in any order), then t2", got)
	}
	resp := e.chat("sk-key-open")
	if got, want := resp.status, http.StatusTooManyRequests; got != want {
		t.Fatalf("request 4: status = %d, want %d; body %s", got, want, resp.body)
	}
	checkErrorBody(t, resp.body, "rate_limit_exceeded")
	if got, want := resp.header.Get("Retry-After"), "40"; got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
	if got, want := e.up.calls(), 3; got != want {
		t.Errorf("upstream calls = %d, want %d", got, want)
	}
	e.clock.Advance(40 * time.Second)
	resp = e.chat("sk-key-open")
	if dep := resp.header.Get("X-Spillway-Deployment"); resp.status != http.StatusOK || (dep != "t1a" && dep != "t1b") {
		t.Errorf("next minute: status %d from %q, want 200 from tier 1", resp.status, dep)
	}
}

// TestAccessDeploymentTPM: a request that no deployment's whole tpm could
// take is refused as too large, without a Retry-After and without an
// upstream call; the demand counted is the max_tokens after the key's cap.
func TestAccessDeploymentTPM(t *testing.T) {
	tests := []struct {
		name       string
		policy     string
		key        string
		maxTokens  string
		wantStatus int
		wantCode   string
		wantDep    string
	}{
		{name: "too large for every deployment", policy: access.PolicyReject, key: "sk-key-open", maxTokens: "1000", wantStatus: http.StatusTooManyRequests, wantCode: "tokens_exceed_limit"},
		{name: "too large for the first tier", policy: access.PolicyReject, key: "sk-key-open", maxTokens: "150", wantStatus: http.StatusOK, wantDep: "big"},
		{name: "fits the first tier", policy: access.PolicyReject, key: "sk-key-open", maxTokens: "50", wantStatus: http.StatusOK, wantDep: "small"},
		{name: "clamped to the cap, it fits", policy: access.PolicyClamp, key: "sk-key-capped", maxTokens: "1000", wantStatus: http.StatusOK, wantDep: "big"},
		{name: "the cap written in counts", policy: access.PolicyReject, key: "sk-key-capped", wantStatus: http.StatusOK, wantDep: "big"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAccessTest(t, tt.policy, []config.Deployment{
				accessTestDeployment("small", "gpt-4o", config.ClassChat, 1, 0, 100),
				accessTestDeployment("big", "gpt-4o", config.ClassChat, 2, 0, 200),
			})
			body := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
			if tt.maxTokens != "" {
				body = `{"model":"gpt-4o","max_tokens":` + tt.maxTokens + `,"messages":[{"role":"user","content":"hi"}]}`
			}
			resp := e.do(tt.key, http.MethodPost, "/v1/chat/completions", body)
			if got, want := resp.status, tt.wantStatus; got != want {
				t.Fatalf("status = %d, want %d; body %s", got, want, resp.body)
			}
			if tt.wantCode != "" {
				checkErrorBody(t, resp.body, tt.wantCode)
				if got := resp.header.Get("Retry-After"); got != "" {
					t.Errorf("Retry-After = %q, want none: waiting does not help", got)
				}
				if got, want := e.up.calls(), 0; got != want {
					t.Errorf("upstream calls = %d, want %d", got, want)
				}
				return
			}
			if got, want := resp.header.Get("X-Spillway-Deployment"), tt.wantDep; got != want {
				t.Errorf("deployment = %q, want %q", got, want)
			}
		})
	}
}
