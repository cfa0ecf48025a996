package usage

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		model string
		want  Price
		ok    bool
	}{
		{"gpt-4o", Price{MaxInputTokens: 128_000, MaxOutputTokens: 16_384, InputCostPerToken: 2.5e-6, OutputCostPerToken: 10e-6, CachedInputCostPerToken: 1.25e-6, Mode: "chat", Provider: "openai"}, true},
		{"gpt-4o-2024-08-06", Price{MaxInputTokens: 128_000, MaxOutputTokens: 16_384, InputCostPerToken: 2.5e-6, OutputCostPerToken: 10e-6, CachedInputCostPerToken: 1.25e-6, Mode: "chat", Provider: "openai"}, true},
		{"azure/GPT-4o-mini", Price{MaxInputTokens: 128_000, MaxOutputTokens: 16_384, InputCostPerToken: 0.15e-6, OutputCostPerToken: 0.6e-6, CachedInputCostPerToken: 0.075e-6, Mode: "chat", Provider: "openai"}, true},
		{"gpt-35-turbo", Price{MaxInputTokens: 16_385, MaxOutputTokens: 4_096, InputCostPerToken: 0.5e-6, OutputCostPerToken: 1.5e-6, Mode: "chat", Provider: "azure"}, true},
		{"gpt-35-turbo-0125", Price{MaxInputTokens: 16_385, MaxOutputTokens: 4_096, InputCostPerToken: 0.5e-6, OutputCostPerToken: 1.5e-6, Mode: "chat", Provider: "azure"}, true},
		{"gpt-3.5-turbo", Price{MaxInputTokens: 16_385, MaxOutputTokens: 4_096, InputCostPerToken: 0.5e-6, OutputCostPerToken: 1.5e-6, Mode: "chat", Provider: "openai"}, true},
		{"gpt-35-turbo-instruct", Price{MaxInputTokens: 4_096, MaxOutputTokens: 4_096, InputCostPerToken: 1.5e-6, OutputCostPerToken: 2e-6, Mode: "completion", Provider: "azure"}, true},
		{"gpt-4-0613", Price{MaxInputTokens: 8_192, MaxOutputTokens: 4_096, InputCostPerToken: 30e-6, OutputCostPerToken: 60e-6, Mode: "chat", Provider: "openai"}, true},
		{"gpt-4-turbo-2024-04-09", Price{MaxInputTokens: 128_000, MaxOutputTokens: 4_096, InputCostPerToken: 10e-6, OutputCostPerToken: 30e-6, Mode: "chat", Provider: "openai"}, true},
		{"gpt-4.1-2025-04-14", Price{MaxInputTokens: 1_047_576, MaxOutputTokens: 32_768, InputCostPerToken: 2e-6, OutputCostPerToken: 8e-6, CachedInputCostPerToken: 0.5e-6, Mode: "chat", Provider: "openai"}, true},
		{"gpt-4.1-mini", Price{MaxInputTokens: 1_047_576, MaxOutputTokens: 32_768, InputCostPerToken: 0.4e-6, OutputCostPerToken: 1.6e-6, CachedInputCostPerToken: 0.1e-6, Mode: "chat", Provider: "openai"}, true},
		{"gpt-4.1-nano", Price{MaxInputTokens: 1_047_576, MaxOutputTokens: 32_768, InputCostPerToken: 0.1e-6, OutputCostPerToken: 0.4e-6, CachedInputCostPerToken: 0.025e-6, Mode: "chat", Provider: "openai"}, true},
		{"o1", Price{MaxInputTokens: 200_000, MaxOutputTokens: 100_000, InputCostPerToken: 15e-6, OutputCostPerToken: 60e-6, CachedInputCostPerToken: 7.5e-6, Mode: "chat", Provider: "openai"}, true},
		{"o1-mini", Price{MaxInputTokens: 128_000, MaxOutputTokens: 65_536, InputCostPerToken: 1.1e-6, OutputCostPerToken: 4.4e-6, CachedInputCostPerToken: 0.55e-6, Mode: "chat", Provider: "openai"}, true},
		{"o3", Price{MaxInputTokens: 200_000, MaxOutputTokens: 100_000, InputCostPerToken: 2e-6, OutputCostPerToken: 8e-6, CachedInputCostPerToken: 0.5e-6, Mode: "chat", Provider: "openai"}, true},
		{"o3-mini-2025-01-31", Price{MaxInputTokens: 200_000, MaxOutputTokens: 100_000, InputCostPerToken: 1.1e-6, OutputCostPerToken: 4.4e-6, CachedInputCostPerToken: 0.55e-6, Mode: "chat", Provider: "openai"}, true},
		{"o4-mini", Price{MaxInputTokens: 200_000, MaxOutputTokens: 100_000, InputCostPerToken: 1.1e-6, OutputCostPerToken: 4.4e-6, CachedInputCostPerToken: 0.275e-6, Mode: "chat", Provider: "openai"}, true},
		{"text-embedding-3-small", Price{MaxInputTokens: 8_191, InputCostPerToken: 0.02e-6, Mode: "embedding", Provider: "openai"}, true},
		{"text-embedding-3-large", Price{MaxInputTokens: 8_191, InputCostPerToken: 0.13e-6, Mode: "embedding", Provider: "openai"}, true},
		{"openai/text-embedding-ada-002", Price{MaxInputTokens: 8_191, InputCostPerToken: 0.1e-6, Mode: "embedding", Provider: "openai"}, true},
		{"dall-e-2", Price{CostPerImage: 0.02, Mode: "image_generation", Provider: "openai"}, true},
		{"dall-e-3", Price{CostPerImage: 0.04, Mode: "image_generation", Provider: "openai"}, true},
		{"my-finetune", Price{}, false},
		{"", Price{}, false},
		{"gpt-4o-mini-tts", Price{}, false},
		{"gpt-4o-realtime-preview-2024-12-17", Price{MaxInputTokens: 128_000, MaxOutputTokens: 4_096, InputCostPerToken: 5e-6, OutputCostPerToken: 20e-6, CachedInputCostPerToken: 2.5e-6, AudioInputCostPerToken: 40e-6, AudioOutputCostPerToken: 80e-6, Mode: "realtime", Provider: "openai"}, true},
	}
	// Prices are computed (x / 1e6); compare them to within a rounding error.
	approx := cmp.Comparer(func(a, b float64) bool {
		d := a - b
		return d < 1e-15 && d > -1e-15
	})
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			got, ok := Lookup(tt.model)
			if ok != tt.ok {
				t.Fatalf("Lookup(%q) found = %v, want %v", tt.model, ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got, approx); diff != "" {
				t.Errorf("Lookup(%q) mismatch (-want +got):\n%s", tt.model, diff)
			}
		})
	}
}

// Every entry must say what it does and cost something, so that /model/info
// and cost estimates never show an entry that looks real but is empty.
func TestPricesComplete(t *testing.T) {
	modes := map[string]bool{"chat": true, "completion": true, "embedding": true, "image_generation": true, "audio_transcription": true, "realtime": true}
	for name, p := range prices {
		if !modes[p.Mode] {
			t.Errorf("%s: mode %q, want one of chat, completion, embedding, image_generation, audio_transcription, realtime", name, p.Mode)
		}
		switch {
		case p.Mode == "image_generation":
			if p.CostPerImage <= 0 {
				t.Errorf("%s: no cost per image", name)
			}
		case p.Mode == "audio_transcription" && p.InputCostPerToken == 0:
			if p.CostPerSecond <= 0 {
				t.Errorf("%s: neither a cost per token nor per second", name)
			}
		default:
			if p.InputCostPerToken <= 0 || p.MaxInputTokens <= 0 {
				t.Errorf("%s: input cost %v, context %d; want both positive", name, p.InputCostPerToken, p.MaxInputTokens)
			}
			if p.Mode != "embedding" && (p.OutputCostPerToken <= 0 || p.MaxOutputTokens <= 0) {
				t.Errorf("%s: output cost %v, max output %d; want both positive", name, p.OutputCostPerToken, p.MaxOutputTokens)
			}
		}
		if p.Provider != "" {
			t.Errorf("%s: Provider %q in the table; Lookup sets it", name, p.Provider)
		}
	}
}

func TestPriceCost(t *testing.T) {
	p, _ := Lookup("gpt-4o")
	// 1,000 prompt tokens of which 400 cached, 100 completion tokens.
	want := 600*2.5e-6 + 400*1.25e-6 + 100*10e-6
	if got := p.Cost(1000, 400, 100); got < want-1e-12 || got > want+1e-12 {
		t.Errorf("Cost = %g, want %g", got, want)
	}
	// A model without a cached price charges cached tokens as input.
	e, _ := Lookup("text-embedding-3-small")
	if got, want := e.Cost(100, 50, 0), 100*0.02e-6; got < want-1e-15 || got > want+1e-15 {
		t.Errorf("Cost without a cached price = %g, want %g", got, want)
	}
	// More cached than prompt tokens (a confused upstream) never goes negative.
	if got, want := p.Cost(10, 50, 0), 10*1.25e-6; got < want-1e-15 || got > want+1e-15 {
		t.Errorf("Cost with cached > prompt = %g, want %g", got, want)
	}
}
