package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/router"
)

// newAPISurface is the gateway in front of one simulated resource that
// serves audio, moderations, image uploads and Azure AI Inference, driven
// by the official SDK in each of its modes.
func newAPISurface(t *testing.T) (map[string]openai.Client, *records, string) {
	t.Helper()
	m := mock.New(mock.Options{Name: "eastus", Seed: 1})
	up := httptest.NewServer(m)
	t.Cleanup(func() { up.Close(); m.Close() })
	az := func(model, class string) config.Deployment {
		return config.Deployment{ID: model, Model: model, Class: class, Provider: config.ProviderAzure, Endpoint: up.URL,
			Deployment: model, APIVersion: config.DefaultAPIVersion, APIKey: "upstream-key", Priority: 1, Weight: 1}
	}
	oa := func(model, class string) config.Deployment {
		return config.Deployment{ID: model, Model: model, Class: class, Provider: config.ProviderOpenAI, Endpoint: up.URL,
			Deployment: model, APIKey: "upstream-key", Priority: 1, Weight: 1}
	}
	r, err := router.New(router.Options{Now: newClock().Now}, []config.Deployment{
		az("gpt-4o-transcribe", config.ClassAudio),
		az("gpt-4o-mini-transcribe", config.ClassAudio),
		// The public name "whisper" is whisper-1 upstream, on OpenAI: the
		// form's model is rewritten, the rest forwarded as it came.
		{ID: "whisper", Model: "whisper", Class: config.ClassAudio, Provider: config.ProviderOpenAI, Endpoint: up.URL, Deployment: "whisper-1", Priority: 1, Weight: 1},
		az("gpt-4o-mini-tts", config.ClassAudio),
		oa("omni-moderation-latest", config.ClassModerations),
		az("gpt-image-1", config.ClassImages),
		oa("dall-e-2", config.ClassImages),
		az("gpt-4o", config.ClassChat),
		az("text-embedding-3-small", config.ClassEmbeddings),
		{ID: "mistral", Model: "mistral-large", Class: config.ClassChat, Provider: config.ProviderAzureAIInference, Endpoint: up.URL + "/models",
			Deployment: "Mistral-Large-2411", APIKey: "upstream-key", Priority: 1, Weight: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTransport(2*time.Second, 10*time.Second)
	t.Cleanup(tr.CloseIdleConnections)
	recs := newRecords()
	gw := httptest.NewServer(New(Options{
		Router: r, Transport: tr, Retries: 1, Recorder: recs,
		Auth:   auth.NewStaticKeys([]auth.StaticKey{{Key: testKey, Name: "sdk"}}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}))
	t.Cleanup(gw.Close)
	common := []option.RequestOption{option.WithMaxRetries(0), option.WithHTTPClient(gw.Client())}
	return map[string]openai.Client{
		"openai": openai.NewClient(append(common, option.WithBaseURL(gw.URL+"/v1"), option.WithAPIKey(testKey))...),
		"azure": openai.NewClient(append(common,
			azure.WithEndpoint(gw.URL, "2025-04-01-preview"), azure.WithAPIKey(testKey), azure.WithUnsafeAllowHTTP())...),
		"azure-v1": openai.NewClient(append(common, option.WithBaseURL(gw.URL+"/openai/v1"), option.WithAPIKey(testKey))...),
	}, recs, gw.URL
}

// audio is five seconds at the mock's assumed bitrate.
func audio() io.Reader {
	return openai.File(strings.NewReader(strings.Repeat("a", 5*16000)), "speech.mp3", "audio/mpeg")
}

func png(content string) io.Reader {
	return openai.File(strings.NewReader("\x89PNG"+content), content+".png", "image/png")
}

func TestSDKAudio(t *testing.T) {
	ctx := context.Background()
	clients, _, _ := newAPISurface(t)
	for mode, c := range clients {
		t.Run(mode, func(t *testing.T) {
			got, err := c.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{File: audio(), Model: "gpt-4o-transcribe"})
			if err != nil || got.Text == "" || got.Usage.Type != "tokens" || got.Usage.OutputTokens == 0 {
				t.Fatalf("Transcriptions.New = %+v, %v; want text and token usage", got, err)
			}
			got, err = c.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{File: audio(), Model: "whisper", ResponseFormat: openai.AudioResponseFormatVerboseJSON})
			if err != nil || got.Duration != 5 || got.Usage.Type != "duration" || got.Usage.Seconds != 5 {
				t.Fatalf("whisper verbose = %+v, %v; want 5 s and duration usage", got, err)
			}
			// Text formats come back as text, which the SDK hands over raw.
			var srt []byte
			_, err = c.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{File: audio(), Model: "whisper", ResponseFormat: openai.AudioResponseFormatSRT}, option.WithResponseBodyInto(&srt))
			if err != nil || !strings.Contains(string(srt), "-->") {
				t.Errorf("whisper srt = %q, %v; want subtitles", srt, err)
			}
			//lint:ignore SA1019 Azure and OpenAI still serve translations, and so does the gateway
			tr, err := c.Audio.Translations.New(ctx, openai.AudioTranslationNewParams{File: audio(), Model: "whisper"})
			if err != nil || tr.Text == "" {
				t.Errorf("Translations.New = %+v, %v; want text", tr, err)
			}

			stream := c.Audio.Transcriptions.NewStreaming(ctx, openai.AudioTranscriptionNewParams{File: audio(), Model: "gpt-4o-mini-transcribe"})
			var deltas strings.Builder
			var done openai.TranscriptionTextDoneEvent
			for stream.Next() {
				switch ev := stream.Current(); ev.Type {
				case "transcript.text.delta":
					deltas.WriteString(ev.Delta)
				case "transcript.text.done":
					done = ev.AsTranscriptTextDone()
				}
			}
			stream.Close()
			if err := stream.Err(); err != nil || done.Text == "" || done.Text != deltas.String() || done.Usage.OutputTokens == 0 {
				t.Errorf("stream: %v; deltas %q, done %q usage %+v", err, deltas.String(), done.Text, done.Usage)
			}

			resp, err := c.Audio.Speech.New(ctx, openai.AudioSpeechNewParams{
				Model: "gpt-4o-mini-tts", Input: strings.Repeat("e", 15),
				Voice:          openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("alloy")},
				ResponseFormat: openai.AudioSpeechNewParamsResponseFormatWAV,
			})
			if err != nil {
				t.Fatalf("Speech.New: %v", err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.Header.Get("Content-Type") != "audio/wav" || len(b) < 44 || string(b[:4]) != "RIFF" {
				t.Errorf("speech: %q, %d bytes, %v; want a WAV", resp.Header.Get("Content-Type"), len(b), err)
			}
		})
	}
}

func TestSDKAudioUsage(t *testing.T) {
	clients, recs, _ := newAPISurface(t)
	c := clients["openai"]
	ctx := context.Background()
	if _, err := c.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{File: audio(), Model: "gpt-4o-transcribe"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{File: audio(), Model: "whisper"}); err != nil {
		t.Fatal(err)
	}
	if rec := recs.wait(t, 1); rec.Endpoint != "transcriptions" || rec.PromptTokens == 0 || rec.CompletionTokens == 0 || rec.Cost <= 0 || rec.Estimated {
		t.Errorf("gpt-4o-transcribe record %+v, want its tokens priced", rec)
	}
	if rec := recs.wait(t, 2); rec.AudioSeconds != 5 || rec.PromptTokens != 0 || rec.Estimated || rec.Cost < 0.0005-1e-12 || rec.Cost > 0.0005+1e-12 {
		t.Errorf("whisper record %+v, want 5 s at 0.006 USD a minute", rec)
	}
}

func TestSDKModerationsImagesAndModels(t *testing.T) {
	ctx := context.Background()
	clients, _, _ := newAPISurface(t)
	for mode, c := range clients {
		t.Run(mode, func(t *testing.T) {
			mod, err := c.Moderations.New(ctx, openai.ModerationNewParams{
				Model: openai.ModerationModelOmniModerationLatest,
				Input: openai.ModerationNewParamsInputUnion{OfStringArray: []string{"I will kill them.", "Good morning."}},
			})
			if err != nil || len(mod.Results) != 2 || !mod.Results[0].Flagged || mod.Results[1].Flagged {
				t.Errorf("Moderations.New = %+v, %v; want the first flagged, the second not", mod, err)
			}
			edit, err := c.Images.Edit(ctx, openai.ImageEditParams{
				Model:  "gpt-image-1",
				Image:  openai.ImageEditParamsImageUnion{OfFileArray: []io.Reader{png("a"), png("b")}},
				Prompt: "add a fish ladder", N: openai.Int(2), ResponseFormat: openai.ImageEditParamsResponseFormatB64JSON,
			})
			if err != nil || len(edit.Data) != 2 || edit.Data[0].B64JSON == "" {
				t.Errorf("Images.Edit = %d images, %v; want 2", len(edit.Data), err)
			}
			//lint:ignore SA1019 OpenAI's dall-e-2 still takes variations, and so does the gateway
			v, err := c.Images.NewVariation(ctx, openai.ImageNewVariationParams{Model: "dall-e-2", Image: png("c")})
			if err != nil || len(v.Data) != 1 {
				t.Errorf("Images.NewVariation = %+v, %v; want one picture", v, err)
			}
			m, err := c.Models.Get(ctx, "gpt-4o")
			if err != nil || m.ID != "gpt-4o" {
				t.Errorf("Models.Get = %+v, %v", m, err)
			}
			if _, err := c.Models.Get(ctx, "gpt-0"); apiStatus(err) != http.StatusNotFound {
				t.Errorf("Models.Get(gpt-0) = %v, want 404", err)
			}
			page, err := c.Models.List(ctx)
			if err != nil || len(page.Data) != 10 {
				t.Errorf("Models.List = %d models, %v; want the 10 served", len(page.Data), err)
			}
		})
	}
}

func TestSDKAzureAIInference(t *testing.T) {
	_, recs, base := newAPISurface(t)
	c := openai.NewClient(option.WithBaseURL(base+"/models"), option.WithAPIKey(testKey), option.WithMaxRetries(0),
		option.WithHeader("extra-parameters", "pass-through"))
	ctx := context.Background()
	got, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "mistral-large",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What does a spillway do?")},
	}, option.WithJSONSet("safe_prompt", true))
	if err != nil || len(got.Choices) != 1 || got.Choices[0].Message.Content == "" || got.Usage.TotalTokens == 0 {
		t.Fatalf("chat through /models = %+v, %v", got, err)
	}
	if rec := recs.wait(t, 1); rec.Deployment != "mistral" || rec.TotalTokens == 0 {
		t.Errorf("record %+v, want the mistral deployment's usage", rec)
	}
	// Without extra-parameters, AI Inference refuses parameters it does
	// not know, and the gateway passes its 400 through.
	plain := openai.NewClient(option.WithBaseURL(base+"/models"), option.WithAPIKey(testKey), option.WithMaxRetries(0))
	_, err = plain.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "mistral-large",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}, option.WithJSONSet("safe_prompt", true))
	if apiStatus(err) != http.StatusBadRequest {
		t.Errorf("unknown parameter without extra-parameters: %v, want the upstream's 400", err)
	}
	// An AI Inference client reaches Azure OpenAI deployments the same way.
	emb, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "text-embedding-3-small", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hi")}})
	if err != nil || len(emb.Data) != 1 {
		t.Errorf("embeddings through /models = %+v, %v", emb, err)
	}
}
