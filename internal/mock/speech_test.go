package mock

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
	"testing"
)

// countingReader counts the reads that returned data, a rough measure of
// the chunks a streamed body came in.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.reads++
	}
	return n, err
}

func TestSpeech(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	input := strings.Repeat("a", 30) // 2 seconds
	tests := []struct {
		format, wantType string
		check            func(t *testing.T, b []byte)
	}{
		{"", "audio/mpeg", func(t *testing.T, b []byte) {
			// 2 s of 1152-sample frames at 44.1 kHz.
			if len(b) != 77*mp3FrameSize || !bytes.HasPrefix(b, []byte{0xff, 0xfb}) || !bytes.HasPrefix(b[mp3FrameSize:], []byte{0xff, 0xfb}) {
				t.Errorf("mp3 of %d bytes starting % x, want 77 frames", len(b), b[:4])
			}
		}},
		{"wav", "audio/wav", func(t *testing.T, b []byte) {
			data := 2 * speechSampleRate * 2
			if len(b) != 44+data || string(b[:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" ||
				binary.LittleEndian.Uint32(b[4:]) != uint32(36+data) || binary.LittleEndian.Uint32(b[40:]) != uint32(data) || binary.LittleEndian.Uint32(b[24:]) != speechSampleRate {
				t.Errorf("wav of %d bytes, header % x; want a 44-byte RIFF header and 2 s of 24 kHz samples", len(b), b[:44])
			}
			for i := 44; i < len(b); i += 2 {
				if v := int16(binary.LittleEndian.Uint16(b[i:])); v < -32 || v > 32 {
					t.Fatalf("sample %d = %d, want quiet", (i-44)/2, v)
				}
			}
		}},
		{"pcm", "audio/pcm", func(t *testing.T, b []byte) {
			if len(b) != 2*speechSampleRate*2 {
				t.Errorf("pcm of %d bytes, want 2 s of 16-bit samples", len(b))
			}
		}},
		{"opus", "audio/opus", func(t *testing.T, b []byte) {
			if !bytes.HasPrefix(b, []byte("OggS")) {
				t.Errorf("opus starts % x", b[:4])
			}
		}},
		{"flac", "audio/flac", func(t *testing.T, b []byte) {
			if !bytes.HasPrefix(b, []byte("fLaC")) {
				t.Errorf("flac starts % x", b[:4])
			}
		}},
		{"aac", "audio/aac", nil},
	}
	for _, tt := range tests {
		t.Run(tt.wantType, func(t *testing.T) {
			body := `{"model":"gpt-4o-mini-tts","voice":"alloy","input":"` + input + `"`
			if tt.format != "" {
				body += `,"response_format":"` + tt.format + `"`
			}
			resp, err := send(t.Context(), ts, "POST", "/v1/audio/speech", body+"}")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			cr := &countingReader{r: resp.Body}
			b, err := io.ReadAll(cr)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tt.wantType || resp.ContentLength != -1 {
				t.Fatalf("status %d, Content-Type %q, length %d; want 200, %q, streamed", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength, tt.wantType)
			}
			if tt.check != nil {
				tt.check(t, b)
			}
			if cr.reads < 2 && len(b) > speechChunk {
				t.Errorf("%d bytes in %d reads, want several chunks", len(b), cr.reads)
			}
		})
	}
}

func TestSpeechSpeedAndShapes(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	size := func(path, body string) int {
		t.Helper()
		resp, b := fetch(t, ts, "POST", path, body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d body %s", path, resp.StatusCode, b)
		}
		return len(b)
	}
	input := strings.Repeat("b", 60)
	normal := size("/v1/audio/speech", `{"model":"tts-1","voice":"echo","input":"`+input+`","response_format":"pcm"}`)
	fast := size("/v1/audio/speech", `{"model":"tts-1","voice":"echo","input":"`+input+`","response_format":"pcm","speed":2}`)
	if normal != 2*fast {
		t.Errorf("speed 2 gave %d bytes against %d, want half", fast, normal)
	}
	for _, path := range []string{"/openai/v1/audio/speech", "/openai/deployments/tts/audio/speech" + azureQuery} {
		if got := size(path, `{"model":"tts-1","voice":{"id":"voice_1"},"input":"`+input+`","response_format":"pcm"}`); got != normal {
			t.Errorf("%s: %d bytes, want %d", path, got, normal)
		}
	}
}

func TestSpeechSSE(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	resp, body := fetch(t, ts, "POST", "/v1/audio/speech", `{"model":"gpt-4o-mini-tts","voice":"coral","input":"`+strings.Repeat("d", 30)+`","response_format":"pcm","stream_format":"sse"}`)
	events, err := sseEvents(bytes.NewReader(body))
	if resp.StatusCode != http.StatusOK || err != nil || len(events) < 2 {
		t.Fatalf("status %d, %d events, error %v", resp.StatusCode, len(events), err)
	}
	var audio []byte
	for _, ev := range events[:len(events)-1] {
		d := decode[struct{ Type, Audio string }](t, []byte(ev))
		raw, err := base64.StdEncoding.DecodeString(d.Audio)
		if d.Type != "speech.audio.delta" || err != nil {
			t.Fatalf("event %.80s: want a speech.audio.delta with base64 audio", ev)
		}
		audio = append(audio, raw...)
	}
	done := decode[struct {
		Type  string
		Usage struct {
			OutputTokens int `json:"output_tokens"`
		} `json:"usage"`
	}](t, []byte(events[len(events)-1]))
	if done.Type != "speech.audio.done" || len(audio) != speechSampleRate*2*2 || done.Usage.OutputTokens != 20 {
		t.Errorf("done %s after %d bytes, want speech.audio.done with 20 output tokens after 2 s of audio", events[len(events)-1], len(audio))
	}
}

func TestSpeechErrors(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	tests := []struct {
		name, body          string
		wantParam, wantCode string
	}{
		{"no input", `{"model":"tts-1","voice":"alloy"}`, "input", "missing_required_parameter"},
		{"long input", `{"model":"tts-1","voice":"alloy","input":"` + strings.Repeat("x", maxSpeechInput+1) + `"}`, "input", "string_above_max_length"},
		{"no voice", `{"model":"tts-1","input":"hi"}`, "voice", "missing_required_parameter"},
		{"bad format", `{"model":"tts-1","voice":"alloy","input":"hi","response_format":"ogg"}`, "response_format", "invalid_value"},
		{"too fast", `{"model":"tts-1","voice":"alloy","input":"hi","speed":4.5}`, "speed", "invalid_value"},
		{"sse on tts-1", `{"model":"tts-1","voice":"alloy","input":"hi","stream_format":"sse"}`, "stream_format", "unsupported_value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := fetch(t, ts, "POST", "/v1/audio/speech", tt.body)
			e := decode[apiError](t, body).Error
			if resp.StatusCode != http.StatusBadRequest || e.Param == nil || *e.Param != tt.wantParam || e.Code == nil || *e.Code != tt.wantCode {
				t.Errorf("status %d body %.200s, want 400 with param %q code %q", resp.StatusCode, body, tt.wantParam, tt.wantCode)
			}
		})
	}
}

func TestSpeechReset(t *testing.T) {
	_, ts := newTestServer(t, Options{Faults: []Fault{{Kind: FaultResetMidStream, After: 2}}})
	resp, err := send(t.Context(), ts, "POST", "/v1/audio/speech", `{"model":"tts-1","voice":"alloy","input":"`+strings.Repeat("c", 150)+`","response_format":"wav"}`)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil || len(b) < 2*speechChunk || len(b) >= 3*speechChunk+mp3FrameSize {
		t.Errorf("read %d bytes, error %v; want two chunks, then a broken connection", len(b), err)
	}
}
