package mock

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestImageJobs(t *testing.T) {
	_, ts := newTestServer(t, Options{Name: "east"})
	_, other := newTestServer(t, Options{Name: "west"})

	resp, body := fetch(t, ts, "POST", "/openai/images/generations:submit?api-version=2023-06-01-preview", `{"prompt":"a lighthouse","n":2}`)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: status %d, want 202; body %s", resp.StatusCode, body)
	}
	var sub struct{ ID, Status string }
	if err := json.Unmarshal(body, &sub); err != nil || sub.ID == "" || sub.Status != "notRunning" {
		t.Fatalf("submit body %s (err %v), want an id and status notRunning", body, err)
	}
	loc, err := url.Parse(resp.Header.Get("Operation-Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := loc.Path, "/openai/operations/images/"+sub.ID; got != want {
		t.Errorf("operation-location path = %s, want %s", got, want)
	}
	if got := loc.Query().Get("api-version"); got != "2023-06-01-preview" {
		t.Errorf("operation-location api-version = %q, want the submission's", got)
	}
	poll := loc.Path + "?" + loc.RawQuery

	var statuses []string
	for range 2 {
		resp, body := fetch(t, ts, "GET", poll, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("poll: status %d; body %s", resp.StatusCode, body)
		}
		var op struct {
			ID     string
			Status string
			Result struct{ Data []struct{ URL string } }
		}
		if err := json.Unmarshal(body, &op); err != nil {
			t.Fatal(err)
		}
		if op.ID != sub.ID {
			t.Errorf("poll id = %q, want %q", op.ID, sub.ID)
		}
		statuses = append(statuses, op.Status)
		if op.Status == "succeeded" && (len(op.Result.Data) != 2 || !strings.Contains(op.Result.Data[0].URL, "/mock/images/")) {
			t.Errorf("result %+v, want 2 picture URLs", op.Result)
		}
	}
	if strings.Join(statuses, ",") != "running,succeeded" {
		t.Errorf("statuses = %v, want running then succeeded", statuses)
	}

	resp, body = fetch(t, other, "GET", poll, "")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `"code":"NotFound"`) {
		t.Errorf("poll on another resource: %d %s, want 404 NotFound", resp.StatusCode, body)
	}
	resp, _ = fetch(t, ts, "POST", "/openai/images/generations:submit", `{"prompt":"x"}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("submit without api-version: status %d, want 400", resp.StatusCode)
	}
	resp, _ = fetch(t, ts, "POST", "/openai/images/generations:submit?api-version=2023-06-01-preview", `{"n":1}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("submit without prompt: status %d, want 400", resp.StatusCode)
	}
}
