package usage

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAdmissionTokensCalibrated: on real-looking prompts the cheap estimate
// stays within a band of the tokenizer's count: never far under it (a tpm
// limit would let through much more than it should until the correction)
// and not wildly over it.
func TestAdmissionTokensCalibrated(t *testing.T) {
	prose := "The gateway admits a request on an estimate and corrects the count by what the upstream reports. " +
		"Fixed windows start again at each boundary, and every replica shares one counter in Redis. "
	code := "func (m *Memory) Take(ctx context.Context, key string, limit int64) (Decision, error) {\n\tif err := check(limit); err != nil {\n\t\treturn Decision{}, err\n\t}\n}\n"
	tests := []struct {
		name string
		body string
	}{
		{"bench body", string(benchBody)},
		{"one word", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":16}`},
		{"long prose", chatBody(t, strings.Repeat(prose, 40))},
		{"code", chatBody(t, strings.Repeat(code, 30))},
		{"many messages", `{"model":"gpt-4o","messages":[` + strings.Repeat(`{"role":"user","content":"What time is it in Lisbon?"},{"role":"assistant","content":"It is noon."},`, 20) + `{"role":"user","content":"thanks"}]}`},
		{"responses input", `{"model":"gpt-4o","input":"` + strings.Repeat(prose, 10) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exact := EstimatePromptTokens("gpt-4o", []byte(tt.body))
			got := AdmissionTokens([]byte(tt.body))
			ratio := float64(got) / float64(exact)
			if ratio < 0.75 || ratio > 3 {
				t.Errorf("AdmissionTokens = %d, tokenizer %d: ratio %.2f, want within [0.75, 3]", got, exact, ratio)
			}
			if testing.Verbose() {
				t.Logf("%d vs %d: %.2f", got, exact, ratio)
			}
			// Long text is where it must be close: English prose is
			// about a third over (o200k packs 5 bytes a token), code
			// about even.
			if exact > 500 && (ratio < 0.75 || ratio > 1.4) {
				t.Errorf("AdmissionTokens = %d, tokenizer %d on %d tokens: ratio %.2f, want within [0.75, 1.4]", got, exact, exact, ratio)
			}
		})
	}
}

func chatBody(t testing.TB, content string) string {
	b, err := json.Marshal(map[string]any{"model": "gpt-4o", "messages": []map[string]string{{"role": "user", "content": content}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAdmissionTokensMedia: inline images and audio count as one image,
// not as their base64 bytes; text that merely looks long does not.
func TestAdmissionTokensMedia(t *testing.T) {
	b64 := strings.Repeat("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+A8AAQUBAScY42YAAAAASUVORK5CYII=", 400)
	tests := []struct {
		name     string
		body     string
		min, max int
	}{
		{"image data URL", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + b64 + `"}}]}]}`, tokensPerImage, tokensPerImage + 40},
		{"audio base64", `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"` + b64 + `","format":"wav"}}]}]}`, tokensPerImage, tokensPerImage + 40},
		{"long text without spaces is text", `{"input":"` + strings.Repeat("東京", 200) + `"}`, 290, 320},
		{"escaped quotes stay in the string", `{"input":"say \"` + strings.Repeat("a", 300) + `\" twice"}`, 80, 90},
		{"empty", ``, 0, 0},
		{"unterminated string", `{"input":"abc`, 3, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AdmissionTokens([]byte(tt.body)); got < tt.min || got > tt.max {
				t.Errorf("AdmissionTokens = %d, want within [%d, %d]", got, tt.min, tt.max)
			}
		})
	}
}

// FuzzAdmissionTokens: any body, JSON or not, gets an estimate bounded by
// its length, without a panic.
func FuzzAdmissionTokens(f *testing.F) {
	f.Add([]byte(`{"messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`"\\"\"`))
	f.Add([]byte(`{"a":"data:x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got := AdmissionTokens(body)
		if got < 0 || got > (len(body)+3)/4+1+tokensPerImage*(len(body)/5+1) {
			t.Fatalf("AdmissionTokens(%d bytes) = %d, out of bounds", len(body), got)
		}
	})
}

func BenchmarkAdmissionTokens(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		AdmissionTokens(benchBody)
	}
}
