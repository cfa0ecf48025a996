package mock

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// streamEvent is the part of a Responses stream event the tests look at.
type streamEvent struct {
	Type           string    `json:"type"`
	SequenceNumber *int      `json:"sequence_number"`
	Delta          string    `json:"delta"`
	Text           string    `json:"text"`
	Arguments      string    `json:"arguments"`
	Response       *response `json:"response"`
}

// checkEvents decodes events, checks that each names its type twice and
// that sequence numbers count up from first, and returns them with a
// summary of their types ("a,b*3,c" for a, three b and a c).
func checkEvents(t *testing.T, events []event, first int) ([]streamEvent, string) {
	t.Helper()
	var out []streamEvent
	var summary []string
	for i, ev := range events {
		se := decode[streamEvent](t, []byte(ev.data))
		if se.Type != ev.name {
			t.Errorf("event %d: event: %q but type %q", i, ev.name, se.Type)
		}
		if se.SequenceNumber == nil || *se.SequenceNumber != first+i {
			t.Errorf("event %d (%s): sequence_number %v, want %d", i, se.Type, se.SequenceNumber, first+i)
		}
		name := strings.TrimPrefix(se.Type, "response.")
		if n := len(summary); n > 0 && strings.HasPrefix(summary[n-1], name) && (summary[n-1] == name || strings.HasPrefix(summary[n-1], name+"*")) {
			count := 1
			if _, c, ok := strings.Cut(summary[n-1], "*"); ok {
				count, _ = strconv.Atoi(c)
			}
			summary[n-1] = name + "*" + strconv.Itoa(count+1)
		} else {
			summary = append(summary, name)
		}
		out = append(out, se)
	}
	return out, strings.Join(summary, ",")
}

func streamBody(t *testing.T, ts interface {
	Client() *http.Client
}, url, body string) ([]event, error) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Fatalf("status %d content type %q, want a 200 event stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return readEvents(resp.Body)
}

func TestResponseStream(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	message := "output_item.added,content_part.added,output_text.delta*32,output_text.done,content_part.done,output_item.done"
	tests := []struct {
		name, body string
		want       string
		wantStatus string
	}{
		{"text", `{"model":"gpt-4o","input":"Hi"}`, "created,in_progress," + message + ",completed", "completed"},
		{"cut short", `{"model":"gpt-4o","input":"Hi","max_output_tokens":16}`, "created,in_progress,output_item.added,content_part.added,output_text.delta*16,output_text.done,content_part.done,output_item.done,incomplete", "incomplete"},
		{"reasoning", `{"model":"o4-mini","input":"Hi"}`, "created,in_progress,output_item.added,output_item.done," + message + ",completed", "completed"},
		{"reasoning summary and a call", `{"model":"gpt-5","input":"weather?","reasoning":{"summary":"detailed"},` + weatherTool + `}`,
			"created,in_progress,output_item.added,reasoning_summary_part.added,reasoning_summary_text.delta*25,reasoning_summary_text.done,reasoning_summary_part.done,output_item.done," +
				"output_item.added,function_call_arguments.delta*13,function_call_arguments.done,output_item.done,completed", "completed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := streamBody(t, ts, ts.URL+"/v1/responses", strings.TrimSuffix(tt.body, "}")+`,"stream":true}`)
			if err != nil {
				t.Fatalf("reading the stream: %v", err)
			}
			got, summary := checkEvents(t, events, 0)
			if diff := cmp.Diff(tt.want, summary); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			last := got[len(got)-1].Response
			if last == nil || last.Status != tt.wantStatus || last.Usage == nil || got[0].Response.Status != "in_progress" {
				t.Fatalf("first and last events: %+v, %+v; want in_progress, then %s with usage", got[0].Response, last, tt.wantStatus)
			}
			var text, args strings.Builder
			for _, e := range got {
				switch e.Type {
				case "response.output_text.delta":
					text.WriteString(e.Delta)
				case "response.function_call_arguments.delta":
					args.WriteString(e.Delta)
				}
			}
			if text.String() != last.text() {
				t.Errorf("deltas add up to %q, the response says %q", text.String(), last.text())
			}
			for _, o := range last.Output {
				if o.Type == "function_call" && (o.Arguments != args.String() || !json.Valid([]byte(o.Arguments))) {
					t.Errorf("argument deltas add up to %q, the call has %q", args.String(), o.Arguments)
				}
			}
		})
	}
}

func TestResponseStreamAzure(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	for _, path := range []string{"/openai/v1/responses", "/openai/responses" + azureQuery, "/openai/deployments/gpt-4o/responses" + azureQuery} {
		events, err := streamBody(t, ts, ts.URL+path, `{"model":"gpt-4o","input":"Hi","stream":true}`)
		if err != nil || len(events) != 40 || events[39].name != "response.completed" {
			t.Errorf("%s: %d events, last %v, error %v; want 40 ending with response.completed", path, len(events), events[len(events)-1].name, err)
		}
	}
}

func TestResponseStreamReset(t *testing.T) {
	_, ts := newTestServer(t, Options{Faults: []Fault{{Kind: FaultResetMidStream, After: 5}}})
	events, err := streamBody(t, ts, ts.URL+"/v1/responses", `{"model":"gpt-4o","input":"Hi","stream":true}`)
	if err == nil || len(events) != 5 {
		t.Fatalf("got %d events and error %v, want 5 events, then a broken connection", len(events), err)
	}
	if _, summary := checkEvents(t, events, 0); summary != "created,in_progress,output_item.added,content_part.added,output_text.delta" {
		t.Errorf("events before the reset: %s", summary)
	}
}

func TestResponseStreamPaced(t *testing.T) {
	_, ts := newTestServer(t, Options{TokensPerSecond: 1})
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := send(ctx, ts, "POST", "/v1/responses", `{"model":"gpt-4o","input":"Hi","stream":true}`)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The events before the first delta arrive at once; then the client
	// gives up, and the paced handler must notice.
	buf := make([]byte, 1)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatalf("first byte: %v", err)
	}
	cancel()
}

func TestGetResponseStream(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	_, body := fetch(t, ts, "POST", "/v1/responses", `{"model":"gpt-4o","input":"Hi","background":true}`)
	id := decode[response](t, body).ID
	resp, err := send(context.Background(), ts, "GET", "/v1/responses/"+id+"?stream=true&starting_after=35", "")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events, err := readEvents(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, summary := checkEvents(t, events, 36)
	if want := "output_text.done,content_part.done,output_item.done,completed"; summary != want {
		t.Errorf("events after 35 = %s, want %s", summary, want)
	}
	if r := got[len(got)-1].Response; r == nil || r.ID != id || !r.Background || r.Status != "completed" {
		t.Errorf("last event's response = %+v, want %s, background, completed", r, id)
	}
	if resp, _ := fetch(t, ts, "GET", "/v1/responses/"+id+"?stream=true&starting_after=x", ""); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("starting_after=x: status %d, want 400", resp.StatusCode)
	}

	// A cancelled response has nothing to stream: it comes back as JSON.
	_, body = fetch(t, ts, "POST", "/v1/responses", `{"model":"gpt-4o","input":"Hi","background":true}`)
	id = decode[response](t, body).ID
	fetch(t, ts, "POST", "/v1/responses/"+id+"/cancel", "")
	resp, body = fetch(t, ts, "GET", "/v1/responses/"+id+"?stream=true", "")
	if got := decode[response](t, body); resp.Header.Get("Content-Type") != "application/json" || got.Status != "cancelled" {
		t.Errorf("streaming a cancelled response: %q %s, want its JSON, cancelled", resp.Header.Get("Content-Type"), body)
	}
}
