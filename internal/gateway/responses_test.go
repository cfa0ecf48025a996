package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
)

// responsesUpstream is a Responses API that keeps what it creates, as a
// real deployment does: a response id is known only to the deployment
// that made it.
type responsesUpstream struct {
	name string
	mu   sync.Mutex
	n    int
	ids  map[string]bool
	// last is the last request's path with query, and body.
	lastPath, lastBody string
	// throttle answers new work with 429.
	throttle bool
	// polls counts the GETs of each background response: the first finds
	// it in progress, later ones completed.
	background map[string]int
}

func (u *responsesUpstream) setThrottle(on bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.throttle = on
}

func newResponsesUpstream(name string) *responsesUpstream {
	return &responsesUpstream{name: name, ids: map[string]bool{}, background: map[string]int{}}
}

func (u *responsesUpstream) last() (string, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.lastPath, u.lastBody
}

func (u *responsesUpstream) handler(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.lastPath, u.lastBody = r.URL.RequestURI(), string(b)
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	rest, ok := strings.CutPrefix(r.URL.Path, "/openai/v1/responses")
	if !ok {
		http.Error(w, `{"error":{"message":"no such route","type":"invalid_request_error","param":null,"code":null}}`, http.StatusNotFound)
		return
	}
	if rest == "" && r.Method == http.MethodPost {
		u.mu.Lock()
		throttle := u.throttle
		u.mu.Unlock()
		if throttle {
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":{"code":"429","message":"Rate limit reached"}}`)
			return
		}
		u.create(w, b)
		return
	}
	id, action, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	u.mu.Lock()
	known := u.ids[id]
	u.mu.Unlock()
	if !known {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":{"message":"Response with id '%s' not found.","type":"invalid_request_error","param":null,"code":null}}`, id)
		return
	}
	switch {
	case r.Method == http.MethodDelete:
		fmt.Fprintf(w, `{"id":%q,"object":"response.deleted","deleted":true}`, id)
	case action == "input_items":
		fmt.Fprintf(w, `{"object":"list","data":[{"id":"msg_1","type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}],"first_id":"msg_1","last_id":"msg_1","has_more":false}`)
	default:
		u.mu.Lock()
		polls, bg := u.background[id]
		if bg {
			polls++
			u.background[id] = polls
		}
		u.mu.Unlock()
		switch {
		case bg && polls == 1:
			fmt.Fprintf(w, `{"id":%q,"object":"response","background":true,"status":"in_progress","model":"gpt-4o","output":[],"usage":null}`, id)
		case bg:
			fmt.Fprintf(w, `{"id":%q,"object":"response","background":true,"status":"completed","model":"gpt-4o","output":[],"usage":{"input_tokens":10,"output_tokens":5,"total_tokens":15}}`, id)
		default:
			fmt.Fprintf(w, `{"id":%q,"object":"response","status":"completed","model":"gpt-4o","output":[],"usage":{"input_tokens":10,"output_tokens":5,"total_tokens":15}}`, id)
		}
	}
}

func (u *responsesUpstream) create(w http.ResponseWriter, body []byte) {
	var req struct {
		Model      string  `json:"model"`
		Stream     bool    `json:"stream"`
		Previous   *string `json:"previous_response_id"`
		Break      bool    `json:"metadata_break"`
		Background bool    `json:"background"`
	}
	_ = json.Unmarshal(body, &req)
	u.mu.Lock()
	if req.Previous != nil && !u.ids[*req.Previous] {
		u.mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":{"message":"Previous response with id '%s' not found.","type":"invalid_request_error","param":"previous_response_id","code":"previous_response_not_found"}}`, *req.Previous)
		return
	}
	u.n++
	id := fmt.Sprintf("resp_%s%04d", u.name, u.n)
	u.ids[id] = true
	if req.Background {
		u.background[id] = 0
	}
	u.mu.Unlock()
	if req.Background && !req.Stream {
		fmt.Fprintf(w, `{"id":%q,"object":"response","background":true,"status":"queued","model":%q,"output":[],"usage":null}`, id, req.Model)
		return
	}
	prev := "null"
	if req.Previous != nil {
		prev = fmt.Sprintf("%q", *req.Previous)
	}
	obj := fmt.Sprintf(`{"id":%q,"object":"response","created_at":1,"status":"completed","model":%q,"output":[{"id":"msg_%s","type":"message","role":"assistant","status":"completed","content":[{"type":"output_text","text":"hello","annotations":[]}]}],"previous_response_id":%s,"usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":16},"output_tokens":87,"output_tokens_details":{"reasoning_tokens":64},"total_tokens":123}}`, id, req.Model, u.name, prev)
	if !req.Stream {
		_, _ = io.WriteString(w, obj)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	f := w.(http.Flusher)
	fmt.Fprintf(w, "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":%q,\"object\":\"response\",\"status\":\"in_progress\",\"output\":[],\"usage\":null}}\n\n", id)
	fmt.Fprintf(w, "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"item_id\":\"msg_%s\",\"output_index\":0,\"content_index\":0,\"delta\":\"hello\"}\n\n", u.name)
	f.Flush()
	if req.Break {
		// Cut the connection mid-stream.
		hj, _ := w.(http.Hijacker)
		conn, _, err := hj.Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	fmt.Fprintf(w, "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":%s}\n\n", obj)
}

const otherKey = "sk-other-key"

// newResponsesHarness is two gpt-4o deployments, a and b, that keep their
// responses, and a second client key.
func newResponsesHarness(t *testing.T, recs *records) (*harness, map[string]*responsesUpstream) {
	t.Helper()
	ups := map[string]*responsesUpstream{"a": newResponsesUpstream("a"), "b": newResponsesUpstream("b")}
	o := harnessOptions{keys: []auth.StaticKey{{Key: otherKey, Name: "other"}}}
	if recs != nil {
		o.recorder = recs
	}
	h := newHarness(t, o,
		&backend{id: "a", handler: ups["a"].handler},
		&backend{id: "b", handler: ups["b"].handler})
	return h, ups
}

// call sends method path with key and body, and returns the status, the
// answering deployment and the body.
func (h *harness) call(key, method, path, body string) (int, string, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Spillway-Deployment"), string(b)
}

func jsonField(t *testing.T, body, field string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return m[field]
}

func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Error.Code
}

func TestResponseIDsFollowTheirDeployment(t *testing.T) {
	h, ups := newResponsesHarness(t, nil)
	status, dep, body := h.call(testKey, http.MethodPost, "/v1/responses", `{"model":"gpt-4o","input":"hi"}`)
	if status != http.StatusOK {
		t.Fatalf("create: status %d, body %s", status, body)
	}
	id, _ := jsonField(t, body, "id").(string)
	upstreamID := "resp_" + dep + "0001"
	if !strings.HasPrefix(id, "resp_") || strings.Contains(body, upstreamID) {
		t.Fatalf("create answered id %q (body %s); want a gateway id with the resp_ prefix and no upstream id", id, body)
	}
	// Round robin would alternate; every follow-up must reach dep.
	for _, tt := range []struct {
		method, path string
		want         int
		wantUpstream string
	}{
		{http.MethodGet, "/v1/responses/" + id, http.StatusOK, "/openai/v1/responses/" + upstreamID},
		{http.MethodGet, "/openai/v1/responses/" + id + "/input_items?limit=2&order=asc", http.StatusOK, "/openai/v1/responses/" + upstreamID + "/input_items?limit=2&order=asc"},
		{http.MethodGet, "/openai/responses/" + id + "?api-version=2025-04-01-preview", http.StatusOK, "/openai/v1/responses/" + upstreamID},
		{http.MethodPost, "/v1/responses/" + id + "/cancel", http.StatusOK, "/openai/v1/responses/" + upstreamID + "/cancel"},
		{http.MethodGet, "/v1/responses/" + id, http.StatusOK, "/openai/v1/responses/" + upstreamID},
		{http.MethodDelete, "/v1/responses/" + id, http.StatusOK, "/openai/v1/responses/" + upstreamID},
	} {
		status, got, body := h.call(testKey, tt.method, tt.path, "")
		if status != tt.want || got != dep {
			t.Errorf("%s %s: status %d from %q, want %d from %q; body %s", tt.method, tt.path, status, got, tt.want, dep, body)
			continue
		}
		if path, _ := ups[dep].last(); path != tt.wantUpstream {
			t.Errorf("%s %s reached the upstream at %s, want %s", tt.method, tt.path, path, tt.wantUpstream)
		}
		if strings.Contains(body, upstreamID) {
			t.Errorf("%s %s: the answer shows the upstream id: %s", tt.method, tt.path, body)
		}
		if tt.path == "/v1/responses/"+id && tt.method == http.MethodGet {
			if got := jsonField(t, body, "id"); got != id {
				t.Errorf("GET answered id %v, want %s", got, id)
			}
		}
	}
}

// The AI SDK's azure provider with useDeploymentBasedUrls names the model
// in the URL; the seed's /api/v1 prefix answers too.
func TestResponsesByDeploymentURL(t *testing.T) {
	h, ups := newResponsesHarness(t, nil)
	for _, path := range []string{
		"/openai/deployments/gpt-4o/responses?api-version=2025-04-01-preview",
		"/api/v1/responses",
		"/api/v1/openai/v1/responses",
	} {
		status, dep, body := h.call(testKey, http.MethodPost, path, `{"model":"gpt-4o","input":"hi"}`)
		if status != http.StatusOK || !strings.HasPrefix(jsonField(t, body, "id").(string), "resp_sw") {
			t.Errorf("POST %s: status %d body %s, want a response with a gateway id", path, status, body)
			continue
		}
		if got, _ := ups[dep].last(); got != "/openai/v1/responses" {
			t.Errorf("POST %s reached the upstream at %s, want /openai/v1/responses", path, got)
		}
	}
}

func TestResponseIDsRefuseOthers(t *testing.T) {
	h, _ := newResponsesHarness(t, nil)
	_, dep, body := h.call(testKey, http.MethodPost, "/v1/responses", `{"model":"gpt-4o","input":"hi"}`)
	id, _ := jsonField(t, body, "id").(string)
	tampered := []byte(id)
	tampered[len("resp_sw")+2] ^= 1
	tests := []struct {
		name, key, id string
	}{
		{"another key", otherKey, id},
		{"a tampered id", testKey, string(tampered)},
		{"the upstream's own id", testKey, "resp_" + dep + "0001"},
		{"an unknown id", testKey, "resp_68af1234"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodDelete} {
				status, _, body := h.call(tt.key, method, "/v1/responses/"+tt.id, "")
				if status != http.StatusNotFound || errorCode(t, body) != "not_found" {
					t.Errorf("%s: status %d body %s, want 404 not_found", method, status, body)
				}
				if want := "Response with id '" + tt.id + "' not found."; !strings.Contains(body, want) {
					t.Errorf("%s: body %s, want the message %q", method, body, want)
				}
			}
			status, _, body := h.call(tt.key, http.MethodPost, "/v1/responses", `{"model":"gpt-4o","input":"more","previous_response_id":"`+tt.id+`"}`)
			if status != http.StatusNotFound || errorCode(t, body) != "previous_response_not_found" {
				t.Errorf("previous_response_id: status %d body %s, want 404 previous_response_not_found", status, body)
			}
		})
	}
}

func TestPreviousResponseChains(t *testing.T) {
	h, ups := newResponsesHarness(t, nil)
	_, dep, body := h.call(testKey, http.MethodPost, "/v1/responses", `{"model":"gpt-4o","input":"hi"}`)
	first, _ := jsonField(t, body, "id").(string)
	for i := range 3 {
		status, got, body := h.call(testKey, http.MethodPost, "/openai/v1/responses", `{"model":"gpt-4o","input":"more","previous_response_id":"`+first+`","store":true}`)
		if status != http.StatusOK || got != dep {
			t.Fatalf("follow-up %d: status %d from %q, want 200 from %q; body %s", i, status, got, dep, body)
		}
		_, sent := ups[dep].last()
		if prev := jsonField(t, sent, "previous_response_id"); prev != "resp_"+dep+"0001" {
			t.Errorf("follow-up %d sent previous_response_id %v upstream, want the upstream's id", i, prev)
		}
		if prev := jsonField(t, body, "previous_response_id"); prev != first {
			t.Errorf("follow-up %d answered previous_response_id %v, want %s", i, prev, first)
		}
		if id, _ := jsonField(t, body, "id").(string); id == first || !strings.HasPrefix(id, "resp_sw") {
			t.Errorf("follow-up %d answered id %q, want a new gateway id", i, id)
		}
	}
	t.Run("another model", func(t *testing.T) {
		h2 := newHarness(t, harnessOptions{},
			&backend{id: "a", handler: ups["a"].handler},
			&backend{id: "mini", model: "gpt-4o-mini", handler: ups["a"].handler})
		_, _, body := h2.call(testKey, http.MethodPost, "/v1/responses", `{"model":"gpt-4o","input":"hi"}`)
		id, _ := jsonField(t, body, "id").(string)
		status, _, body := h2.call(testKey, http.MethodPost, "/v1/responses", `{"model":"gpt-4o-mini","input":"more","previous_response_id":"`+id+`"}`)
		if status != http.StatusBadRequest || errorCode(t, body) != "previous_response_model_mismatch" {
			t.Errorf("status %d body %s, want 400 previous_response_model_mismatch", status, body)
		}
	})
}

func TestResponseOfARemovedDeployment(t *testing.T) {
	h, _ := newResponsesHarness(t, nil)
	var id, dep string
	for id == "" || dep != "a" {
		var body string
		_, dep, body = h.call(testKey, http.MethodPost, "/v1/responses", `{"model":"gpt-4o","input":"hi"}`)
		id, _ = jsonField(t, body, "id").(string)
	}
	if err := h.router.Update([]config.Deployment{{ID: "b", Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure,
		Endpoint: h.ups["b"].srv.URL, Deployment: "gpt-4o", APIVersion: config.DefaultAPIVersion, Priority: 1}}); err != nil {
		t.Fatal(err)
	}
	status, _, body := h.call(testKey, http.MethodGet, "/v1/responses/"+id, "")
	if status != http.StatusNotFound || errorCode(t, body) != "object_deployment_gone" || !strings.Contains(body, "deployment a") {
		t.Errorf("GET: status %d body %s, want 404 object_deployment_gone naming deployment a", status, body)
	}
	status, _, body = h.call(testKey, http.MethodPost, "/v1/responses", `{"model":"gpt-4o","input":"more","previous_response_id":"`+id+`"}`)
	if status != http.StatusNotFound || errorCode(t, body) != "object_deployment_gone" {
		t.Errorf("previous_response_id: status %d body %s, want 404 object_deployment_gone, never a new conversation", status, body)
	}
}

func TestResponseFollowUpsReachACoolingDeployment(t *testing.T) {
	h, ups := newResponsesHarness(t, nil)
	_, dep, body := h.call(testKey, http.MethodPost, "/v1/responses", `{"model":"gpt-4o","input":"hi"}`)
	id, _ := jsonField(t, body, "id").(string)
	// The deployment answers 429 to new work and cools down.
	ups[dep].setThrottle(true)
	for range 2 {
		if st, got, _ := h.call(testKey, http.MethodPost, "/v1/responses", `{"model":"gpt-4o","input":"x"}`); st != http.StatusOK || got == dep {
			t.Fatalf("new work: status %d from %q, want 200 from the other deployment", st, got)
		}
	}
	if st, got, body := h.call(testKey, http.MethodGet, "/v1/responses/"+id, ""); st != http.StatusOK || got != dep {
		t.Errorf("GET while %s cools down: status %d from %q, want 200 from it; body %s", dep, st, got, body)
	}
}

func TestResponsesStream(t *testing.T) {
	recs := newRecords()
	h, _ := newResponsesHarness(t, recs)
	resp := h.post("/v1/responses", `{"model":"gpt-4o","input":"hi","stream":true}`)
	body := readAll(t, resp.Body)
	resp.Body.Close()
	dep := resp.Header.Get("X-Spillway-Deployment")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "resp_"+dep+"0001") {
		t.Fatalf("status %d; the stream must carry only gateway ids:\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `"id":"resp_sw`) || !strings.Contains(body, "event: response.completed") || strings.Contains(body, "[DONE]") {
		t.Errorf("stream lost its events or ids:\n%s", body)
	}
	rec := recs.wait(t, 1)
	if rec.Endpoint != "responses" || rec.PromptTokens != 36 || rec.CompletionTokens != 87 || rec.TotalTokens != 123 ||
		rec.CachedTokens != 16 || rec.ReasoningTokens != 64 || rec.Estimated {
		t.Errorf("usage record %+v, want responses 36/87/123 with 16 cached and 64 reasoning, not estimated", rec)
	}
	// gpt-4o: 20 input at 2.50/M, 16 cached at 1.25/M, 87 output at 10/M.
	if want := 20*2.5e-6 + 16*1.25e-6 + 87*10e-6; rec.Cost < want-1e-12 || rec.Cost > want+1e-12 {
		t.Errorf("cost %g, want %g", rec.Cost, want)
	}
}

func TestResponsesStreamBreakEndsWithAnErrorEvent(t *testing.T) {
	recs := newRecords()
	h, _ := newResponsesHarness(t, recs)
	resp := h.post("/v1/responses", `{"model":"gpt-4o","input":"hi","stream":true,"metadata_break":true}`)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Errorf("the stream ended cleanly; want an aborted connection")
	}
	body := string(b)
	i := strings.Index(body, "event: error\ndata: ")
	if i < 0 {
		t.Fatalf("no in-band error event:\n%s", body)
	}
	var ev struct {
		Type     string `json:"type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		Sequence int    `json:"sequence_number"`
	}
	line, _, _ := strings.Cut(body[i+len("event: error\ndata: "):], "\n")
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatalf("error event %q: %v", line, err)
	}
	if ev.Type != "error" || ev.Code != "stream_interrupted" || ev.Message == "" || ev.Sequence != 2 {
		t.Errorf("error event %+v, want type error, code stream_interrupted, sequence 2", ev)
	}
	if rec := recs.wait(t, 1); rec.Endpoint != "responses" {
		t.Errorf("usage record %+v, want one for the broken stream", rec)
	}
}

func TestResponseRoutesRefuseWrongMethods(t *testing.T) {
	h, _ := newResponsesHarness(t, nil)
	req, _ := http.NewRequest(http.MethodPut, h.srv.URL+"/v1/responses/resp_x", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, DELETE" || errorCode(t, body) != "method_not_allowed" {
		t.Errorf("PUT: status %d Allow %q body %s, want 405 with Allow: GET, DELETE", resp.StatusCode, resp.Header.Get("Allow"), body)
	}
}

func TestObjectIDRoundTrip(t *testing.T) {
	g := &Gateway{opKey: []byte("0123456789abcdef0123456789abcdef")}
	other := &Gateway{opKey: []byte("another key, another gateway set")}
	tests := []struct{ dep, owner, upstream, prefix string }{
		{"eastus-1", "key-1", "resp_68af0000deadbeef", "resp_"},
		{"d", "", "file-abc", "file-"},
		{"dep with spaces/and slashes", "k", "no prefix at all", ""},
		{"d", "k", "answer_sw123", "answer_"},
		{"d", "k", "sw-swish", "sw-"},
	}
	for _, tt := range tests {
		id := g.encodeObject(tt.dep, tt.owner, tt.upstream)
		if !strings.HasPrefix(id, tt.prefix+objectMarker) || strings.ContainsAny(id, "/ ?#") {
			t.Errorf("encodeObject(%q) = %q, want prefix %q and URL-safe", tt.upstream, id, tt.prefix+objectMarker)
		}
		ref, ok := g.decodeObject(id, tt.owner)
		if !ok || ref.deployment != tt.dep || ref.upstream != tt.upstream || ref.id != id {
			t.Errorf("decodeObject(%q) = %+v %v, want %s %s", id, ref, ok, tt.dep, tt.upstream)
		}
		if _, ok := g.decodeObject(id, tt.owner+"x"); ok {
			t.Errorf("decodeObject(%q) accepted another owner", id)
		}
		if _, ok := other.decodeObject(id, tt.owner); ok {
			t.Errorf("a gateway with another key accepted %q", id)
		}
	}
}

// FuzzDecodeObject: any string is refused or decodes to the parts that
// encode back to it; nothing panics.
func FuzzDecodeObject(f *testing.F) {
	g := &Gateway{opKey: []byte("0123456789abcdef0123456789abcdef")}
	f.Add(g.encodeObject("d", "k", "resp_1"), "k")
	f.Add("resp_sw.", "")
	f.Add("sw"+strings.Repeat("A", 40)+".AAAA", "k")
	f.Fuzz(func(t *testing.T, id, owner string) {
		ref, ok := g.decodeObject(id, owner)
		if !ok {
			return
		}
		if again := g.encodeObject(ref.deployment, owner, ref.upstream); again != id {
			t.Errorf("decodeObject(%q) = %+v, which encodes to %q", id, ref, again)
		}
	})
}

func TestBackgroundResponseUsageIsRecordedOnce(t *testing.T) {
	recs := newRecords()
	h, _ := newResponsesHarness(t, recs)
	_, _, body := h.call(testKey, http.MethodPost, "/v1/responses", `{"model":"gpt-4o","input":"hi","background":true}`)
	id, _ := jsonField(t, body, "id").(string)
	if st := jsonField(t, body, "status"); st != "queued" || id == "" {
		t.Fatalf("create answered %s, want a queued response with an id", body)
	}
	for range 3 {
		if st, _, body := h.call(testKey, http.MethodGet, "/v1/responses/"+id, ""); st != http.StatusOK {
			t.Fatalf("poll: status %d body %s", st, body)
		}
	}
	want := []struct {
		endpoint         string
		prompt, complete int
	}{
		{"responses", 0, 0},     // queued: nothing used yet, nothing estimated
		{"response-get", 0, 0},  // in progress
		{"response-get", 10, 5}, // the first poll that sees it completed
		{"response-get", 0, 0},  // later polls charge nothing
	}
	for i, w := range want {
		rec := recs.wait(t, i+1)
		if rec.Endpoint != w.endpoint || rec.PromptTokens != w.prompt || rec.CompletionTokens != w.complete || rec.Estimated {
			t.Errorf("record %d: %s %d/%d estimated %v, want %s %d/%d", i+1, rec.Endpoint, rec.PromptTokens, rec.CompletionTokens, rec.Estimated, w.endpoint, w.prompt, w.complete)
		}
	}
}

// A background response streamed from its create is charged by the
// stream, and the polls that later read it finished charge nothing more.
func TestStreamedBackgroundResponseIsChargedOnce(t *testing.T) {
	recs := newRecords()
	h, _ := newResponsesHarness(t, recs)
	resp := h.post("/v1/responses", `{"model":"gpt-4o","input":"hi","background":true,"stream":true}`)
	body := readAll(t, resp.Body)
	resp.Body.Close()
	i := strings.Index(body, `"id":"resp_sw`)
	if resp.StatusCode != http.StatusOK || i < 0 {
		t.Fatalf("status %d, stream %s", resp.StatusCode, body)
	}
	id, _, _ := strings.Cut(body[i+len(`"id":"`):], `"`)
	for range 3 {
		if st, _, b := h.call(testKey, http.MethodGet, "/v1/responses/"+id, ""); st != http.StatusOK {
			t.Fatalf("poll: %d %s", st, b)
		}
	}
	charged := 0
	for n := 1; n <= 4; n++ {
		if rec := recs.wait(t, n); rec.CompletionTokens > 0 {
			charged++
		}
	}
	if charged != 1 {
		t.Errorf("%d records charged tokens, want 1 (the stream)", charged)
	}
}
