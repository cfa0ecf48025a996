package mock

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// response is the part of a response object the tests look at.
type response struct {
	ID                string                   `json:"id"`
	Object            string                   `json:"object"`
	Status            string                   `json:"status"`
	Model             string                   `json:"model"`
	Background        bool                     `json:"background"`
	Store             bool                     `json:"store"`
	PreviousID        *string                  `json:"previous_response_id"`
	Instructions      any                      `json:"instructions"`
	IncompleteDetails *struct{ Reason string } `json:"incomplete_details"`
	Output            []struct {
		ID        string                  `json:"id"`
		Type      string                  `json:"type"`
		Status    string                  `json:"status"`
		Role      string                  `json:"role"`
		CallID    string                  `json:"call_id"`
		Name      string                  `json:"name"`
		Arguments string                  `json:"arguments"`
		Summary   []struct{ Text string } `json:"summary"`
		Content   []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	} `json:"output"`
	Usage *struct {
		InputTokens        int `json:"input_tokens"`
		InputTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"input_tokens_details"`
		OutputTokens        int `json:"output_tokens"`
		OutputTokensDetails struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
		TotalTokens int `json:"total_tokens"`
	} `json:"usage"`
}

// text is the response's output text, as the SDKs' output_text has it.
func (r *response) text() string {
	var b strings.Builder
	for _, o := range r.Output {
		for _, c := range o.Content {
			if c.Type == "output_text" {
				b.WriteString(c.Text)
			}
		}
	}
	return b.String()
}

// types lists the output item types.
func (r *response) types() string {
	var t []string
	for _, o := range r.Output {
		t = append(t, o.Type)
	}
	return strings.Join(t, ",")
}

const weatherTool = `"tools":[{"type":"function","name":"get_weather","description":"Weather at a place","parameters":{"type":"object","properties":{"location":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]},"days":{"type":"integer"}},"required":["location","unit","days"],"additionalProperties":false},"strict":true}]`

func TestCreateResponse(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	tests := []struct {
		name, path, body string
		wantModel        string
		wantStatus       string
		wantTypes        string // output item types
		wantReasoning    bool   // reasoning tokens > 0
		wantJSON         bool   // the output text is JSON
		wantWords        int    // words of output text; 0 to skip
	}{
		{"string input", "/v1/responses", `{"model":"gpt-4o","input":"What is a spillway?"}`, "gpt-4o", "completed", "message", false, false, DefaultAnswerTokens},
		{"items", "/v1/responses", `{"model":"gpt-4o","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"Hi"},{"type":"input_image","image_url":"data:,"}]},{"type":"message","role":"assistant","content":"Hello."},{"role":"user","content":"And?"}]}`, "gpt-4o", "completed", "message", false, false, DefaultAnswerTokens},
		{"max_output_tokens", "/v1/responses", `{"model":"gpt-4o","input":"Hi","max_output_tokens":20}`, "gpt-4o", "incomplete", "message", false, false, 20},
		{"reasoning model", "/v1/responses", `{"model":"o3-mini","input":"Hi"}`, "o3-mini", "completed", "reasoning,message", true, false, DefaultAnswerTokens},
		{"gpt-5 low effort", "/v1/responses", `{"model":"gpt-5","input":"Hi","reasoning":{"effort":"low","summary":"auto"}}`, "gpt-5", "completed", "reasoning,message", true, false, DefaultAnswerTokens},
		{"reasoning eats the budget", "/v1/responses", `{"model":"gpt-5","input":"Hi","max_output_tokens":16}`, "gpt-5", "incomplete", "reasoning", true, false, 0},
		{"weather calls the tool", "/v1/responses", `{"model":"gpt-4o","input":"What's the weather in Oslo?",` + weatherTool + `}`, "gpt-4o", "completed", "function_call", false, false, 0},
		{"tool named", "/v1/responses", `{"model":"gpt-4o","input":"Use get_weather please",` + weatherTool + `}`, "gpt-4o", "completed", "function_call", false, false, 0},
		{"tool required", "/v1/responses", `{"model":"gpt-4o","input":"Hi","tool_choice":"required",` + weatherTool + `}`, "gpt-4o", "completed", "function_call", false, false, 0},
		{"tool forbidden", "/v1/responses", `{"model":"gpt-4o","input":"Weather?","tool_choice":"none",` + weatherTool + `}`, "gpt-4o", "completed", "message", false, false, DefaultAnswerTokens},
		{"tool output answered", "/v1/responses", `{"model":"gpt-4o","input":[{"role":"user","content":"weather?"},{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{}"},{"type":"function_call_output","call_id":"call_1","output":"{\"temp\":3}"}],` + weatherTool + `}`, "gpt-4o", "completed", "message", false, false, DefaultAnswerTokens},
		{"json_object", "/v1/responses", `{"model":"gpt-4o","input":"Hi","text":{"format":{"type":"json_object"}}}`, "gpt-4o", "completed", "message", false, true, 0},
		{"json_schema", "/v1/responses", `{"model":"gpt-4o","input":"Hi","text":{"format":{"type":"json_schema","name":"r","strict":true,"schema":{"type":"object","properties":{"n":{"type":"number"},"tags":{"type":"array","items":{"type":"string"}},"ok":{"type":["boolean","null"]}}}}}}`, "gpt-4o", "completed", "message", false, true, 0},
		{"azure v1", "/openai/v1/responses", `{"model":"gpt-4o","input":"Hi"}`, "gpt-4o", "completed", "message", false, false, DefaultAnswerTokens},
		{"azure preview", "/openai/responses" + azureQuery, `{"model":"gpt-4o","input":"Hi"}`, "gpt-4o", "completed", "message", false, false, DefaultAnswerTokens},
		{"azure deployment", "/openai/deployments/chat-east/responses" + azureQuery, `{"input":"Hi"}`, "chat-east", "completed", "message", false, false, DefaultAnswerTokens},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := fetch(t, ts, "POST", tt.path, tt.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, body)
			}
			got := decode[response](t, body)
			if !strings.HasPrefix(got.ID, "resp_") || got.Object != "response" || got.Model != tt.wantModel || got.Status != tt.wantStatus {
				t.Errorf("id %q object %q model %q status %q; want resp_..., response, %q, %q", got.ID, got.Object, got.Model, got.Status, tt.wantModel, tt.wantStatus)
			}
			if got, want := got.types(), tt.wantTypes; got != want {
				t.Errorf("output types = %q, want %q", got, want)
			}
			if (got.Status == "incomplete") != (got.IncompleteDetails != nil && got.IncompleteDetails.Reason == "max_output_tokens") {
				t.Errorf("status %q with incomplete_details %+v", got.Status, got.IncompleteDetails)
			}
			u := got.Usage
			if u == nil {
				t.Fatal("no usage")
			}
			if u.InputTokens <= 0 || u.OutputTokens <= 0 || u.TotalTokens != u.InputTokens+u.OutputTokens {
				t.Errorf("usage = %+v, want positive, consistent tokens", *u)
			}
			if got := u.OutputTokensDetails.ReasoningTokens > 0; got != tt.wantReasoning {
				t.Errorf("reasoning tokens = %d, want > 0: %v", u.OutputTokensDetails.ReasoningTokens, tt.wantReasoning)
			}
			text := got.text()
			if tt.wantWords > 0 {
				if words(text) != tt.wantWords || u.OutputTokens != tt.wantWords+u.OutputTokensDetails.ReasoningTokens {
					t.Errorf("text %q (%d words), %d output tokens; want %d words", text, words(text), u.OutputTokens, tt.wantWords)
				}
			}
			if tt.wantJSON && !json.Valid([]byte(text)) {
				t.Errorf("text %q is not JSON", text)
			}
			if tt.wantTypes == "function_call" {
				call := got.Output[0]
				var args map[string]any
				if call.Name != "get_weather" || !strings.HasPrefix(call.CallID, "call_") || json.Unmarshal([]byte(call.Arguments), &args) != nil {
					t.Fatalf("call %+v, want get_weather with a call_id and JSON arguments", call)
				}
				if diff := cmp.Diff(map[string]any{"location": "Boston, MA", "unit": "celsius", "days": args["days"]}, args); diff != "" || args["days"] == nil {
					t.Errorf("arguments (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestCreateResponseErrors(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	tests := []struct {
		name, path, body    string
		wantStatus          int
		wantBody            string // exact, compacted; "" to check the fields below
		wantParam, wantCode string
	}{
		{"no model", "/v1/responses", `{"input":"Hi"}`, 400, "", "", ""},
		{"no input", "/v1/responses", `{"model":"m"}`, 400, "", "input", "missing_required_parameter"},
		{"bad input", "/v1/responses", `{"model":"m","input":7}`, 400, "", "input", "invalid_type"},
		{"bad item", "/v1/responses", `{"model":"m","input":["x"]}`, 400, "", "input[0]", "invalid_type"},
		{"bad role", "/v1/responses", `{"model":"m","input":[{"role":"robot","content":"x"}]}`, 400, "", "input[0].role", "invalid_value"},
		{"bad content", "/v1/responses", `{"model":"m","input":[{"role":"user","content":{}}]}`, 400, "", "input[0].content", "invalid_type"},
		{"no call id", "/v1/responses", `{"model":"m","input":[{"type":"function_call_output","output":"x"}]}`, 400, "", "input[0].call_id", "missing_required_parameter"},
		{"max_output_tokens too low", "/v1/responses", `{"model":"m","input":"Hi","max_output_tokens":15}`, 400, "", "max_output_tokens", "integer_below_min_value"},
		{"background unstored", "/v1/responses", `{"model":"m","input":"Hi","background":true,"store":false}`, 400, "", "store", "invalid_value"},
		{"unknown previous", "/v1/responses", `{"model":"m","input":"Hi","previous_response_id":"resp_nope"}`, 400,
			`{"error":{"message":"Previous response with id 'resp_nope' not found.","type":"invalid_request_error","param":"previous_response_id","code":"previous_response_not_found"}}`, "", ""},
		{"unknown response", "/v1/responses/resp_nope", "", 404, `{"error":{"message":"Response with id 'resp_nope' not found.","type":"invalid_request_error","param":null,"code":null}}`, "", ""},
		{"preview without api-version", "/openai/responses", `{"model":"m","input":"Hi"}`, 400, MissingAPIVersionBody, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if tt.body == "" {
				method = "GET"
			}
			resp, body := fetch(t, ts, method, tt.path, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantBody != "" {
				if diff := cmp.Diff(compact(t, tt.wantBody), string(body)); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				return
			}
			e := decode[apiError](t, body).Error
			param, code := "", ""
			if e.Param != nil {
				param = *e.Param
			}
			if e.Code != nil {
				code = *e.Code
			}
			if e.Message == "" || param != tt.wantParam || code != tt.wantCode {
				t.Errorf("error %s; want param %q code %q", body, tt.wantParam, tt.wantCode)
			}
		})
	}
}

func TestPreviousResponse(t *testing.T) {
	_, ts := newTestServer(t, Options{Name: "east"})
	_, other := newTestServer(t, Options{Name: "east"})
	_, body := fetch(t, ts, "POST", "/v1/responses", `{"model":"gpt-4o","input":"Tell me about dams."}`)
	first := decode[response](t, body)

	follow := `{"model":"gpt-4o","input":"Go on.","previous_response_id":"` + first.ID + `"}`
	resp, body := fetch(t, ts, "POST", "/v1/responses", follow)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("follow-up: status %d, body %s", resp.StatusCode, body)
	}
	got := decode[response](t, body)
	if got.PreviousID == nil || *got.PreviousID != first.ID {
		t.Errorf("previous_response_id = %v, want %q", got.PreviousID, first.ID)
	}
	if cached := got.Usage.InputTokensDetails.CachedTokens; cached == 0 || got.Usage.InputTokens <= cached {
		t.Errorf("usage %+v: want cached tokens from the previous response, and more input than that", *got.Usage)
	}
	_, body = fetch(t, ts, "POST", "/v1/responses", `{"model":"gpt-4o","input":"Go on."}`)
	if alone := decode[response](t, body); alone.text() == got.text() {
		t.Errorf("the previous response did not change the answer: %q", got.text())
	}

	resp, body = fetch(t, other, "POST", "/v1/responses", follow)
	if e := decode[apiError](t, body).Error; resp.StatusCode != http.StatusBadRequest || e.Code == nil || *e.Code != "previous_response_not_found" {
		t.Errorf("another server of the same name: %d %s, want 400 previous_response_not_found", resp.StatusCode, body)
	}
}

func TestStoredResponses(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	_, body := fetch(t, ts, "POST", "/v1/responses", `{"model":"gpt-4o","input":"Hi"}`)
	created := decode[response](t, body)

	for _, path := range []string{"/v1/responses/", "/openai/v1/responses/", "/openai/responses/"} {
		q := ""
		if path == "/openai/responses/" {
			q = azureQuery
		}
		resp, body := fetch(t, ts, "GET", path+created.ID+q, "")
		if got := decode[response](t, body); resp.StatusCode != 200 || got.ID != created.ID || got.text() != created.text() {
			t.Errorf("GET %s: %d %s, want the created response", path, resp.StatusCode, body)
		}
	}

	resp, body := fetch(t, ts, "POST", "/v1/responses/"+created.ID+"/cancel", "{}")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "Cannot cancel a synchronous response.") {
		t.Errorf("cancel a synchronous response: %d %s, want 400", resp.StatusCode, body)
	}

	resp, body = fetch(t, ts, "DELETE", "/v1/responses/"+created.ID, "")
	if want := `{"id":"` + created.ID + `","object":"response.deleted","deleted":true}`; resp.StatusCode != 200 || string(body) != want {
		t.Errorf("DELETE: %d %s, want %s", resp.StatusCode, body, want)
	}
	for _, method := range []string{"GET", "DELETE"} {
		if resp, _ := fetch(t, ts, method, "/v1/responses/"+created.ID, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s after DELETE: status %d, want 404", method, resp.StatusCode)
		}
	}

	_, body = fetch(t, ts, "POST", "/v1/responses", `{"model":"gpt-4o","input":"Hi","store":false}`)
	unstored := decode[response](t, body)
	if resp, _ := fetch(t, ts, "GET", "/v1/responses/"+unstored.ID, ""); unstored.Store || resp.StatusCode != http.StatusNotFound {
		t.Errorf("store:false response: store %v, GET status %d; want false, 404", unstored.Store, resp.StatusCode)
	}
	if resp, _ := fetch(t, ts, "PUT", "/v1/responses/"+created.ID, "{}"); resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, DELETE" {
		t.Errorf("PUT: status %d Allow %q, want 405 and GET, DELETE", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestBackgroundResponse(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	status := func(method, path string) string {
		t.Helper()
		resp, body := fetch(t, ts, method, path, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: status %d, body %s", method, path, resp.StatusCode, body)
		}
		r := decode[response](t, body)
		if (r.Status == "completed") != (r.Usage != nil && len(r.Output) > 0) {
			t.Errorf("status %q with usage %v and %d output items", r.Status, r.Usage, len(r.Output))
		}
		return r.Status
	}
	_, body := fetch(t, ts, "POST", "/v1/responses", `{"model":"gpt-4o","input":"Hi","background":true}`)
	r := decode[response](t, body)
	got := []string{r.Status}
	for range 3 {
		got = append(got, status("GET", "/v1/responses/"+r.ID))
	}
	if diff := cmp.Diff([]string{"queued", "in_progress", "completed", "completed"}, got); diff != "" || !r.Background {
		t.Errorf("background %v, statuses (-want +got):\n%s", r.Background, diff)
	}

	_, body = fetch(t, ts, "POST", "/v1/responses", `{"model":"gpt-4o","input":"Hi","background":true}`)
	r = decode[response](t, body)
	got = []string{status("POST", "/v1/responses/"+r.ID+"/cancel"), status("GET", "/v1/responses/"+r.ID), status("POST", "/v1/responses/"+r.ID+"/cancel")}
	if diff := cmp.Diff([]string{"cancelled", "cancelled", "cancelled"}, got); diff != "" {
		t.Errorf("cancelled statuses (-want +got):\n%s", diff)
	}
}

func TestInputItems(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	_, body := fetch(t, ts, "POST", "/v1/responses", `{"model":"gpt-4o","input":[{"role":"user","content":"one"},{"role":"assistant","content":"two"},{"role":"user","content":[{"type":"input_text","text":"three"}]},{"type":"function_call_output","call_id":"c1","output":"four"}]}`)
	id := decode[response](t, body).ID
	type list struct {
		Object string `json:"object"`
		Data   []struct {
			ID      string          `json:"id"`
			Type    string          `json:"type"`
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
			Output  string          `json:"output"`
		} `json:"data"`
		FirstID *string `json:"first_id"`
		LastID  *string `json:"last_id"`
		HasMore bool    `json:"has_more"`
	}
	texts := func(l list) string {
		var s []string
		for _, d := range l.Data {
			switch d.Type {
			case "message":
				var parts []struct{ Text string }
				if err := json.Unmarshal(d.Content, &parts); err != nil || len(parts) != 1 {
					t.Fatalf("content %s: want one part", d.Content)
				}
				s = append(s, parts[0].Text)
			default:
				s = append(s, d.Output)
			}
		}
		return strings.Join(s, ",")
	}
	all := decode[list](t, func() []byte { _, b := fetch(t, ts, "GET", "/v1/responses/"+id+"/input_items?order=asc", ""); return b }())
	if got, want := texts(all), "one,two,three,four"; got != want || all.Object != "list" || all.HasMore {
		t.Fatalf("asc items = %q (object %q, has_more %v), want %q", got, all.Object, all.HasMore, want)
	}
	tests := []struct {
		query    string
		want     string
		wantMore bool
	}{
		{"", "four,three,two,one", false},
		{"?limit=2", "four,three", true},
		{"?limit=2&after=" + all.Data[2].ID, "two,one", false},
		{"?order=asc&limit=3&after=" + all.Data[0].ID, "two,three,four", false},
		{"?order=asc&limit=1&after=" + all.Data[3].ID, "", false},
	}
	for _, tt := range tests {
		resp, body := fetch(t, ts, "GET", "/v1/responses/"+id+"/input_items"+tt.query, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d, body %s", tt.query, resp.StatusCode, body)
		}
		got := decode[list](t, body)
		if texts(got) != tt.want || got.HasMore != tt.wantMore {
			t.Errorf("%s: items %q has_more %v, want %q %v", tt.query, texts(got), got.HasMore, tt.want, tt.wantMore)
		}
		if len(got.Data) > 0 && (got.FirstID == nil || *got.FirstID != got.Data[0].ID || got.LastID == nil || *got.LastID != got.Data[len(got.Data)-1].ID) {
			t.Errorf("%s: first_id %v last_id %v do not match the data", tt.query, got.FirstID, got.LastID)
		}
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?order=up"} {
		if resp, _ := fetch(t, ts, "GET", "/v1/responses/"+id+"/input_items"+q, ""); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", q, resp.StatusCode)
		}
	}
}

func TestInputTokens(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	count := func(body string) int {
		t.Helper()
		resp, b := fetch(t, ts, "POST", "/v1/responses/input_tokens", body)
		got := decode[struct {
			Object      string `json:"object"`
			InputTokens int    `json:"input_tokens"`
		}](t, b)
		if resp.StatusCode != http.StatusOK || got.Object != "response.input_tokens" {
			t.Fatalf("status %d body %s, want a response.input_tokens object", resp.StatusCode, b)
		}
		return got.InputTokens
	}
	short := count(`{"model":"gpt-4o","input":"Hi"}`)
	long := count(`{"model":"gpt-4o","input":"` + strings.Repeat("word ", 100) + `"}`)
	if short <= 0 || long-short != 125-1 {
		t.Errorf("input tokens %d and %d, want positive and 124 apart", short, long)
	}
	_, body := fetch(t, ts, "POST", "/v1/responses", `{"model":"gpt-4o","input":"Hi"}`)
	r := decode[response](t, body)
	if got := count(`{"model":"gpt-4o","input":"Hi","previous_response_id":"` + r.ID + `"}`); got != short+r.Usage.TotalTokens {
		t.Errorf("with a previous response: %d input tokens, want %d", got, short+r.Usage.TotalTokens)
	}
}

// event is one server-sent event of a Responses stream.
type event struct {
	name string
	data string
}

// readEvents reads a stream of events with event: and data: lines.
func readEvents(r io.Reader) ([]event, error) {
	var events []event
	var cur event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur != (event{}) {
				events = append(events, cur)
				cur = event{}
			}
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		default:
			return events, errors.New("unexpected SSE line: " + line)
		}
	}
	if cur != (event{}) {
		return events, errors.New("stream ended inside an event")
	}
	return events, sc.Err()
}
