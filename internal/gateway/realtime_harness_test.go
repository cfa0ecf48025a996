package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// The Realtime tests run gateways in front of two simulated upstreams
// (internal/mock, which speaks the Realtime API over WebSocket): rt-east
// is an Azure deployment, priority 1; rt-west an OpenAI one, priority 2.
// Both serve the public model gpt-realtime. Keys are stored keys in a
// keyring, budgets are read from a real SQLite store, limits and session
// slots counted in the given limiter (memory, or Redis shared by two
// gateways).

// rtUpstreamKey is the only key the simulated upstreams accept: the
// deployments' own, never the client's.
const rtUpstreamKey = "upstream-secret"

// rtKeys are the stored keys; key-x is sent as sk-key-x.
var rtKeys = []store.Key{
	accessTestKey("key-open", store.Key{Name: "open"}),
	accessTestKey("key-tpm", store.Key{TPM: 80}),
	accessTestKey("key-budget", store.Key{BudgetTokens: 60, BudgetPeriod: "day"}),
	accessTestKey("key-models", store.Key{Models: []string{"gpt-4o"}}),
	accessTestKey("key-two", store.Key{Name: "two sessions"}),
	accessTestKey("key-rpm", store.Key{RPM: 1}),
	accessTestKey("att-over", store.Key{EventID: "over", Attendee: "otto@example.com"}),
	accessTestKey("team-rt", store.Key{TeamID: "red"}),
	accessTestKey("pair-a", store.Key{TeamID: "pair"}),
	accessTestKey("pair-b", store.Key{TeamID: "pair"}),
}

type rtEnv struct {
	t     *testing.T
	clock *clock
	recs  *records
	mocks map[string]*mock.Server
	// gws are the gateways' servers, gateways the handlers.
	gws      []*httptest.Server
	gateways []*Gateway
	router   []*router.Router
}

type rtOptions struct {
	// limiter makes the limiter every gateway counts in, on the env's
	// clock; default one memory limiter.
	limiter func(now func() time.Time) limits.Limiter
	// replicas is how many gateways share it; default 1.
	replicas int
	// sessions caps a key's parallel sessions; 0 none.
	sessions int
	// eastEndpoint replaces rt-east's upstream (a closed port, say).
	eastEndpoint string
}

func newRTEnv(t *testing.T, o rtOptions) *rtEnv {
	t.Helper()
	e := &rtEnv{t: t, clock: newClock(), recs: newRecords(), mocks: map[string]*mock.Server{}}
	urls := map[string]string{}
	for _, name := range []string{"east", "west"} {
		m := mock.New(mock.Options{Name: name, Seed: 1, RequireKey: rtUpstreamKey})
		srv := httptest.NewServer(m)
		t.Cleanup(func() { m.Close(); srv.Close() })
		e.mocks[name], urls[name] = m, srv.URL
	}
	east := o.eastEndpoint
	if east == "" {
		east = urls["east"]
	}
	deps := []config.Deployment{
		{ID: "rt-east", Model: "gpt-realtime", Class: config.ClassRealtime, Provider: config.ProviderAzure, Endpoint: east,
			Deployment: "realtime-east", APIVersion: config.DefaultAPIVersion, APIKey: rtUpstreamKey, Priority: 1},
		{ID: "rt-west", Model: "gpt-realtime", Class: config.ClassRealtime, Provider: config.ProviderOpenAI, Endpoint: urls["west"] + "/v1",
			Deployment: "gpt-realtime-2025-08-28", APIKey: rtUpstreamKey, Priority: 2},
		{ID: "chat", Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure, Endpoint: urls["east"],
			Deployment: "gpt-4o", APIVersion: config.DefaultAPIVersion, APIKey: rtUpstreamKey, Priority: 1},
	}
	lim := limits.Limiter(limits.NewMemory(e.clock.Now))
	if o.limiter != nil {
		lim = o.limiter(e.clock.Now)
	}
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "rt.db"), store.Options{})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	logger := slog.New(slog.DiscardHandler)
	for range max(o.replicas, 1) {
		r, err := router.New(router.Options{Now: e.clock.Now, Cooldown: 30 * time.Second, Limiter: lim}, deps)
		if err != nil {
			t.Fatalf("router.New: %v", err)
		}
		keys := auth.NewKeyring(nil, e.clock.Now)
		keys.LoadAccess(rtKeys, accessTestEvents, accessTestTeams)
		tr := NewTransport(2*time.Second, 10*time.Second)
		t.Cleanup(tr.CloseIdleConnections)
		gw := New(Options{
			Router: r, Auth: keys, Transport: tr, Retries: 2, Recorder: e.recs, Logger: logger, RealtimeSessions: o.sessions,
			Access: access.New(access.Options{Limiter: lim, Ledger: access.NewLedger(st, e.clock.Now), Now: e.clock.Now, Logger: logger}),
		})
		srv := httptest.NewServer(gw)
		t.Cleanup(srv.Close)
		e.gws, e.gateways, e.router = append(e.gws, srv), append(e.gateways, gw), append(e.router, r)
	}
	return e
}

// url is the WebSocket URL of path on gateway i.
func (e *rtEnv) url(i int, path string) string {
	return "ws" + strings.TrimPrefix(e.gws[i].URL, "http") + path
}

// dial opens a session on gateway i with the key in an Authorization
// header (or none when ""), and returns it with the handshake's answer.
func (e *rtEnv) dial(i int, path, key string) (*websocket.Conn, *http.Response, error) {
	e.t.Helper()
	h := http.Header{}
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
	return e.dialWith(i, path, &websocket.DialOptions{HTTPHeader: h})
}

func (e *rtEnv) dialWith(i int, path string, o *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // liveness bound
	defer cancel()
	c, resp, err := websocket.Dial(ctx, e.url(i, path), o)
	if c != nil {
		c.SetReadLimit(1 << 24)
		e.t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

// mustDial is dial that fails the test when the session does not open.
func (e *rtEnv) mustDial(i int, path, key string) (*websocket.Conn, *http.Response) {
	e.t.Helper()
	c, resp, err := e.dial(i, path, key)
	if err != nil {
		e.t.Fatalf("dial %s: %v (%s)", path, err, rtBody(resp))
	}
	return c, resp
}

// rtEvent is what the tests read of a server event.
type rtEvent struct {
	Type    string          `json:"type"`
	Session json.RawMessage `json:"session"`
	Error   struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Response struct {
		ID     string         `json:"id"`
		Status string         `json:"status"`
		Usage  *realtimeUsage `json:"usage"`
	} `json:"response"`
	Delta string `json:"delta"`
	raw   []byte
}

// next reads the next server event.
func next(t *testing.T, c *websocket.Conn) rtEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // liveness bound
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("got a %v message, want text", typ)
	}
	var ev rtEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("event %q: %v", b, err)
	}
	ev.raw = b
	return ev
}

// until reads events until one of type want, and returns it.
func until(t *testing.T, c *websocket.Conn, want string) rtEvent {
	t.Helper()
	for {
		if ev := next(t, c); ev.Type == want {
			return ev
		} else if ev.Type == "error" && want != "error" {
			t.Fatalf("error event while waiting for %s: %s", want, ev.raw)
		}
	}
}

// send writes a client event.
func send(t *testing.T, c *websocket.Conn, ev string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // liveness bound
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(ev)); err != nil {
		t.Fatalf("write %s: %v", ev, err)
	}
}

// ask adds a user message and asks for a text response; it returns the
// response.done event.
func ask(t *testing.T, c *websocket.Conn, text string) rtEvent {
	t.Helper()
	send(t, c, `{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":`+strconvQuote(text)+`}]}}`)
	until(t, c, "conversation.item.done")
	send(t, c, `{"type":"response.create","response":{"output_modalities":["text"]}}`)
	return until(t, c, "response.done")
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// rtBody is a refused handshake's body.
func rtBody(resp *http.Response) string {
	if resp == nil || resp.Body == nil {
		return ""
	}
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// all returns the records so far.
func (r *records) all() []usage.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]usage.Record(nil), r.list...)
}

// waitFor returns the first record that matches, once it exists.
func (r *records) waitFor(t *testing.T, match func(usage.Record) bool) usage.Record {
	t.Helper()
	for {
		for _, rec := range r.all() {
			if match(rec) {
				return rec
			}
		}
		select {
		case <-r.got:
		case <-time.After(10 * time.Second): // liveness bound
			t.Fatal("no matching usage record")
		}
	}
}
