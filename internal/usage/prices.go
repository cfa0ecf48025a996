// Package usage records who used what: usage records, the batched writer
// that stores them, and the built-in price and context-window table that
// turns token counts into cost and fills LiteLLM's /model/info.
package usage

import (
	"regexp"
	"strings"
)

// Price is what one model costs and how much it takes, per the built-in
// table. Costs are USD; zero means unknown or not applicable.
type Price struct {
	// MaxInputTokens is the context window; MaxOutputTokens the most a
	// single answer may hold.
	MaxInputTokens  int
	MaxOutputTokens int
	// InputCostPerToken and OutputCostPerToken are USD per token.
	InputCostPerToken  float64
	OutputCostPerToken float64
	// CachedInputCostPerToken is USD per prompt token served from the
	// prompt cache; zero means the input price applies.
	CachedInputCostPerToken float64
	// AudioInputCostPerToken and AudioOutputCostPerToken are USD per
	// audio token, for the Realtime models whose audio is priced apart
	// from text; zero means the text price applies.
	AudioInputCostPerToken  float64
	AudioOutputCostPerToken float64
	// CostPerSecond is USD per second of audio, for the models priced by
	// the minute (whisper).
	CostPerSecond float64
	// CostPerImage is USD per generated image (standard quality,
	// 1024x1024), for the image models.
	CostPerImage float64
	// Mode is LiteLLM's word for what the model does: chat, completion,
	// embedding, image_generation, audio_transcription or realtime.
	Mode string
	// Provider is LiteLLM's litellm_provider: openai, or azure when the
	// name looked up was an Azure-only spelling such as gpt-35-turbo.
	Provider string
}

// perM converts a price per million tokens to a price per token.
func perM(usd float64) float64 { return usd / 1e6 }

// prices holds public list prices of the OpenAI models (USD, as published
// by OpenAI in 2025; Azure OpenAI's global pay-as-you-go prices match).
// They are a default for cost estimates only: a deployment's model_info
// (input_cost_per_token, output_cost_per_token, ...) overrides them, and
// negotiated or provisioned (PTU) prices differ. Keys are the canonical
// OpenAI names; Lookup maps Azure spellings and dated versions onto them.
var prices = map[string]Price{
	"gpt-4o":       {MaxInputTokens: 128_000, MaxOutputTokens: 16_384, InputCostPerToken: perM(2.50), OutputCostPerToken: perM(10), CachedInputCostPerToken: perM(1.25), Mode: "chat"},
	"gpt-4o-mini":  {MaxInputTokens: 128_000, MaxOutputTokens: 16_384, InputCostPerToken: perM(0.15), OutputCostPerToken: perM(0.60), CachedInputCostPerToken: perM(0.075), Mode: "chat"},
	"gpt-4.1":      {MaxInputTokens: 1_047_576, MaxOutputTokens: 32_768, InputCostPerToken: perM(2), OutputCostPerToken: perM(8), CachedInputCostPerToken: perM(0.5), Mode: "chat"},
	"gpt-4.1-mini": {MaxInputTokens: 1_047_576, MaxOutputTokens: 32_768, InputCostPerToken: perM(0.40), OutputCostPerToken: perM(1.60), CachedInputCostPerToken: perM(0.1), Mode: "chat"},
	"gpt-4.1-nano": {MaxInputTokens: 1_047_576, MaxOutputTokens: 32_768, InputCostPerToken: perM(0.10), OutputCostPerToken: perM(0.40), CachedInputCostPerToken: perM(0.025), Mode: "chat"},
	"o1":           {MaxInputTokens: 200_000, MaxOutputTokens: 100_000, InputCostPerToken: perM(15), OutputCostPerToken: perM(60), CachedInputCostPerToken: perM(7.5), Mode: "chat"},
	"o1-mini":      {MaxInputTokens: 128_000, MaxOutputTokens: 65_536, InputCostPerToken: perM(1.10), OutputCostPerToken: perM(4.40), CachedInputCostPerToken: perM(0.55), Mode: "chat"},
	"o3":           {MaxInputTokens: 200_000, MaxOutputTokens: 100_000, InputCostPerToken: perM(2), OutputCostPerToken: perM(8), CachedInputCostPerToken: perM(0.5), Mode: "chat"},
	"o3-mini":      {MaxInputTokens: 200_000, MaxOutputTokens: 100_000, InputCostPerToken: perM(1.10), OutputCostPerToken: perM(4.40), CachedInputCostPerToken: perM(0.55), Mode: "chat"},
	"o4-mini":      {MaxInputTokens: 200_000, MaxOutputTokens: 100_000, InputCostPerToken: perM(1.10), OutputCostPerToken: perM(4.40), CachedInputCostPerToken: perM(0.275), Mode: "chat"},
	"gpt-4":        {MaxInputTokens: 8_192, MaxOutputTokens: 4_096, InputCostPerToken: perM(30), OutputCostPerToken: perM(60), Mode: "chat"},
	"gpt-4-turbo":  {MaxInputTokens: 128_000, MaxOutputTokens: 4_096, InputCostPerToken: perM(10), OutputCostPerToken: perM(30), Mode: "chat"},

	"gpt-3.5-turbo":          {MaxInputTokens: 16_385, MaxOutputTokens: 4_096, InputCostPerToken: perM(0.50), OutputCostPerToken: perM(1.50), Mode: "chat"},
	"gpt-3.5-turbo-instruct": {MaxInputTokens: 4_096, MaxOutputTokens: 4_096, InputCostPerToken: perM(1.50), OutputCostPerToken: perM(2), Mode: "completion"},

	"text-embedding-3-small": {MaxInputTokens: 8_191, InputCostPerToken: perM(0.02), Mode: "embedding"},
	"text-embedding-3-large": {MaxInputTokens: 8_191, InputCostPerToken: perM(0.13), Mode: "embedding"},
	"text-embedding-ada-002": {MaxInputTokens: 8_191, InputCostPerToken: perM(0.10), Mode: "embedding"},

	"whisper-1":              {CostPerSecond: 0.006 / 60, Mode: "audio_transcription"},
	"gpt-4o-transcribe":      {MaxInputTokens: 16_000, MaxOutputTokens: 2_000, InputCostPerToken: perM(6), OutputCostPerToken: perM(10), Mode: "audio_transcription"},
	"gpt-4o-mini-transcribe": {MaxInputTokens: 16_000, MaxOutputTokens: 2_000, InputCostPerToken: perM(3), OutputCostPerToken: perM(5), Mode: "audio_transcription"},

	"gpt-realtime":                 {MaxInputTokens: 32_000, MaxOutputTokens: 4_096, InputCostPerToken: perM(4), OutputCostPerToken: perM(16), CachedInputCostPerToken: perM(0.40), AudioInputCostPerToken: perM(32), AudioOutputCostPerToken: perM(64), Mode: "realtime"},
	"gpt-realtime-mini":            {MaxInputTokens: 32_000, MaxOutputTokens: 4_096, InputCostPerToken: perM(0.60), OutputCostPerToken: perM(2.40), CachedInputCostPerToken: perM(0.06), AudioInputCostPerToken: perM(10), AudioOutputCostPerToken: perM(20), Mode: "realtime"},
	"gpt-4o-realtime-preview":      {MaxInputTokens: 128_000, MaxOutputTokens: 4_096, InputCostPerToken: perM(5), OutputCostPerToken: perM(20), CachedInputCostPerToken: perM(2.50), AudioInputCostPerToken: perM(40), AudioOutputCostPerToken: perM(80), Mode: "realtime"},
	"gpt-4o-mini-realtime-preview": {MaxInputTokens: 128_000, MaxOutputTokens: 4_096, InputCostPerToken: perM(0.60), OutputCostPerToken: perM(2.40), CachedInputCostPerToken: perM(0.30), AudioInputCostPerToken: perM(10), AudioOutputCostPerToken: perM(20), Mode: "realtime"},

	"dall-e-2": {CostPerImage: 0.020, Mode: "image_generation"},
	"dall-e-3": {CostPerImage: 0.040, Mode: "image_generation"},
}

// Version suffixes that name a snapshot of the same model: -2024-08-06
// (OpenAI and Azure) and -0613, -0125 (older four-digit snapshots).
var (
	datedSuffix = regexp.MustCompile(`-\d{4}-\d{2}-\d{2}$`)
	shortSuffix = regexp.MustCompile(`-\d{4}$`)
)

// Lookup returns the table's entry for model, an OpenAI or Azure name. It
// ignores case and a provider prefix (azure/, openai/), reads Azure's
// gpt-35 as gpt-3.5, and drops a snapshot suffix (gpt-4o-2024-08-06 is
// gpt-4o, gpt-35-turbo-0125 is gpt-3.5-turbo). The second result is false
// when the model is not in the table.
func Lookup(model string) (Price, bool) {
	name := strings.ToLower(strings.TrimSpace(model))
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	provider := "openai"
	if strings.HasPrefix(name, "gpt-35") {
		name = "gpt-3.5" + strings.TrimPrefix(name, "gpt-35")
		provider = "azure"
	}
	for _, candidate := range []string{
		name,
		datedSuffix.ReplaceAllString(name, ""),
		shortSuffix.ReplaceAllString(name, ""),
	} {
		if p, ok := prices[candidate]; ok {
			p.Provider = provider
			return p, true
		}
	}
	return Price{}, false
}

// Cost is what the tokens of one answer cost at p: cached prompt tokens at
// the cached price when the table has one, the rest of the prompt and the
// completion at theirs.
func (p Price) Cost(prompt, cached, completion int) float64 {
	cachedPrice := p.CachedInputCostPerToken
	if cachedPrice == 0 {
		cachedPrice = p.InputCostPerToken
	}
	cached = min(max(cached, 0), prompt)
	return float64(prompt-cached)*p.InputCostPerToken + float64(cached)*cachedPrice + float64(completion)*p.OutputCostPerToken
}
