package mock

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// audioFile is 5 seconds of "audio" at the mock's assumed bitrate.
var audioFile = strings.Repeat("a", 5*audioBytesPerSecond)

type transcription struct {
	Text     string  `json:"text"`
	Task     string  `json:"task"`
	Language string  `json:"language"`
	Duration float64 `json:"duration"`
	Segments []struct {
		ID    int     `json:"id"`
		Start float64 `json:"start"`
		End   float64 `json:"end"`
		Text  string  `json:"text"`
	} `json:"segments"`
	Words []struct{ Word string } `json:"words"`
	Usage *struct {
		Type              string         `json:"type"`
		Seconds           float64        `json:"seconds"`
		InputTokens       int            `json:"input_tokens"`
		InputTokenDetails map[string]int `json:"input_token_details"`
		OutputTokens      int            `json:"output_tokens"`
		TotalTokens       int            `json:"total_tokens"`
	} `json:"usage"`
}

func TestTranscriptions(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	file := formPart{name: "file", filename: "speech.mp3", value: audioFile}
	tests := []struct {
		name, path      string
		model, format   string
		wantContentType string
		wantUsage       string // usage.type, "" for none
		check           func(t *testing.T, body []byte)
	}{
		{"whisper json", "/v1/audio/transcriptions", "whisper-1", "", "application/json", "duration", nil},
		{"gpt-4o-transcribe json", "/v1/audio/transcriptions", "gpt-4o-transcribe", "json", "application/json", "tokens", nil},
		{"text", "/v1/audio/transcriptions", "whisper-1", "text", "text/plain; charset=utf-8", "", func(t *testing.T, body []byte) {
			if words(string(body)) != 12 || !strings.HasSuffix(string(body), ".\n") {
				t.Errorf("text %q, want 12 words and a newline", body)
			}
		}},
		{"verbose_json", "/v1/audio/transcriptions", "whisper-1", "verbose_json", "application/json", "duration", func(t *testing.T, body []byte) {
			v := decode[transcription](t, body)
			if v.Task != "transcribe" || v.Duration != 5 || len(v.Segments) != 1 || v.Segments[0].End != 5 || len(v.Words) != 12 {
				t.Errorf("verbose %s, want a 5 s transcription, one segment, 12 words", body)
			}
		}},
		{"srt", "/v1/audio/transcriptions", "whisper-1", "srt", "text/plain; charset=utf-8", "", func(t *testing.T, body []byte) {
			if !strings.HasPrefix(string(body), "1\n00:00:00,000 --> 00:00:05,000\n") {
				t.Errorf("srt %q", body)
			}
		}},
		{"vtt", "/v1/audio/transcriptions", "whisper-1", "vtt", "text/plain; charset=utf-8", "", func(t *testing.T, body []byte) {
			if !strings.HasPrefix(string(body), "WEBVTT\n\n00:00:00.000 --> 00:00:05.000\n") {
				t.Errorf("vtt %q", body)
			}
		}},
		{"translation", "/v1/audio/translations", "whisper-1", "", "application/json", "", nil},
		{"translation verbose", "/v1/audio/translations", "whisper-1", "verbose_json", "application/json", "", func(t *testing.T, body []byte) {
			if v := decode[transcription](t, body); v.Task != "translate" || v.Language != "english" {
				t.Errorf("verbose translation %s", body)
			}
		}},
		{"azure v1", "/openai/v1/audio/transcriptions", "gpt-4o-mini-transcribe", "", "application/json", "tokens", nil},
		{"azure deployment", "/openai/deployments/gpt-4o-transcribe/audio/transcriptions" + azureQuery, "", "", "application/json", "tokens", nil},
		{"azure whisper deployment", "/openai/deployments/whisper/audio/translations" + azureQuery, "", "", "application/json", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := []formPart{file}
			if tt.model != "" {
				parts = append(parts, formPart{name: "model", value: tt.model})
			}
			if tt.format != "" {
				parts = append(parts, formPart{name: "response_format", value: tt.format}, formPart{name: "timestamp_granularities[]", value: "word"})
			}
			resp, body := postForm(t, ts, ts.URL+tt.path, parts...)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tt.wantContentType {
				t.Fatalf("status %d, Content-Type %q; want 200, %q; body %s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.wantContentType, body)
			}
			if tt.check != nil {
				tt.check(t, body)
			}
			if tt.wantContentType != "application/json" {
				return
			}
			got := decode[transcription](t, body)
			if words(got.Text) != 12 {
				t.Errorf("text %q, want 12 words for 5 s", got.Text)
			}
			switch {
			case tt.wantUsage == "" && got.Usage != nil:
				t.Errorf("usage %+v, want none", got.Usage)
			case tt.wantUsage == "":
			case got.Usage == nil || got.Usage.Type != tt.wantUsage:
				t.Errorf("usage %+v, want type %q", got.Usage, tt.wantUsage)
			case tt.wantUsage == "duration" && got.Usage.Seconds != 5:
				t.Errorf("usage %+v, want 5 seconds", got.Usage)
			case tt.wantUsage == "tokens" && (got.Usage.InputTokenDetails["audio_tokens"] != 50 || got.Usage.OutputTokens != 12 || got.Usage.TotalTokens != got.Usage.InputTokens+12):
				t.Errorf("usage %+v, want 50 audio tokens in, 12 out", got.Usage)
			}
		})
	}
}

func TestTranscriptionErrors(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	file := formPart{name: "file", filename: "a.wav", value: "RIFF"}
	model := formPart{name: "model", value: "whisper-1"}
	tests := []struct {
		name                string
		parts               []formPart
		wantParam, wantCode string
	}{
		{"no file", []formPart{model}, "file", "missing_required_parameter"},
		{"no model", []formPart{file}, "model", "missing_required_parameter"},
		{"bad format", []formPart{file, model, {name: "response_format", value: "mp3"}}, "response_format", "unsupported_value"},
		{"srt from gpt-4o-transcribe", []formPart{file, {name: "model", value: "gpt-4o-transcribe"}, {name: "response_format", value: "srt"}}, "response_format", "unsupported_value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := postForm(t, ts, ts.URL+"/v1/audio/transcriptions", tt.parts...)
			e := decode[apiError](t, body).Error
			if resp.StatusCode != http.StatusBadRequest || e.Param == nil || *e.Param != tt.wantParam || e.Code == nil || *e.Code != tt.wantCode {
				t.Errorf("status %d body %s, want 400 with param %q code %q", resp.StatusCode, body, tt.wantParam, tt.wantCode)
			}
		})
	}
	resp, body := fetch(t, ts, "POST", "/v1/audio/transcriptions", `{"model":"whisper-1"}`)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "multipart/form-data") {
		t.Errorf("JSON body: %d %s, want 400 naming multipart/form-data", resp.StatusCode, body)
	}
}

func TestTranscriptionStream(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	stream := formPart{name: "stream", value: "true"}
	file := formPart{name: "file", filename: "a.mp3", value: audioFile}
	resp, body := postForm(t, ts, ts.URL+"/v1/audio/transcriptions", file, stream, formPart{name: "model", value: "gpt-4o-mini-transcribe"})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Fatalf("status %d Content-Type %q, want a 200 event stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events, err := sseEvents(strings.NewReader(string(body)))
	if err != nil || len(events) != 13 {
		t.Fatalf("%d events, error %v; want 12 deltas and done", len(events), err)
	}
	var text strings.Builder
	for _, ev := range events[:12] {
		d := decode[struct{ Type, Delta string }](t, []byte(ev))
		if d.Type != "transcript.text.delta" {
			t.Errorf("event %s, want a delta", ev)
		}
		text.WriteString(d.Delta)
	}
	done := decode[struct {
		Type  string
		Text  string
		Usage struct{ Type string }
	}](t, []byte(events[12]))
	if done.Type != "transcript.text.done" || done.Text != text.String() || done.Usage.Type != "tokens" {
		t.Errorf("done %s, want the deltas' text %q and token usage", events[12], text.String())
	}

	// Whisper does not stream: the stream field is ignored.
	resp, body = postForm(t, ts, ts.URL+"/v1/audio/transcriptions", file, stream, formPart{name: "model", value: "whisper-1"})
	if resp.Header.Get("Content-Type") != "application/json" || !json.Valid(body) {
		t.Errorf("whisper with stream: %q %s, want JSON", resp.Header.Get("Content-Type"), body)
	}
}

func TestTranscriptionsDeterministic(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	text := func(content string) string {
		_, body := postForm(t, ts, ts.URL+"/v1/audio/transcriptions", formPart{name: "model", value: "whisper-1"}, formPart{name: "file", filename: "a.mp3", value: content})
		return decode[transcription](t, body).Text
	}
	a1, a2, b := text("first recording"), text("first recording"), text("other recording")
	if diff := cmp.Diff(a1, a2); diff != "" || a1 == b {
		t.Errorf("same file, different text (%s), or different files, same text %q", diff, b)
	}
}
