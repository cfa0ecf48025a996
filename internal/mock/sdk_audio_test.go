package mock

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
)

func audioUpload() io.Reader {
	return openai.File(strings.NewReader(audioFile), "speech.mp3", "audio/mpeg")
}

func TestSDKTranscriptions(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{})
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			got, err := c.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{File: audioUpload(), Model: "gpt-4o-transcribe"})
			if err != nil {
				t.Fatalf("Transcriptions.New: %v", err)
			}
			if words(got.Text) != 12 || got.Usage.Type != "tokens" || got.Usage.OutputTokens != 12 || got.Usage.InputTokenDetails.AudioTokens != 50 {
				t.Errorf("text %q usage %+v, want 12 words and token usage", got.Text, got.Usage)
			}
			got, err = c.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{File: audioUpload(), Model: "whisper-1", ResponseFormat: openai.AudioResponseFormatVerboseJSON})
			if err != nil {
				t.Fatalf("Transcriptions.New verbose: %v", err)
			}
			if got.Duration != 5 || got.Usage.Type != "duration" || got.Usage.Seconds != 5 || len(got.Segments) != 1 {
				t.Errorf("verbose: duration %v usage %+v, %d segments; want 5 s, duration usage, 1 segment", got.Duration, got.Usage, len(got.Segments))
			}
			//lint:ignore SA1019 upstreams still serve translations, so the mock does too
			tr, err := c.Audio.Translations.New(ctx, openai.AudioTranslationNewParams{File: audioUpload(), Model: "whisper-1"})
			if err != nil || words(tr.Text) != 12 {
				t.Errorf("Translations.New = %+v, %v; want 12 words", tr, err)
			}
		})
	}
}

func TestSDKTranscriptionStream(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{})
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			stream := c.Audio.Transcriptions.NewStreaming(ctx, openai.AudioTranscriptionNewParams{File: audioUpload(), Model: "gpt-4o-mini-transcribe"})
			defer stream.Close()
			var text strings.Builder
			var done openai.TranscriptionTextDoneEvent
			deltas := 0
			for stream.Next() {
				switch ev := stream.Current(); ev.Type {
				case "transcript.text.delta":
					deltas++
					text.WriteString(ev.Delta)
				case "transcript.text.done":
					done = ev.AsTranscriptTextDone()
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if deltas != 12 || done.Text != text.String() || done.Usage.OutputTokens != 12 || done.Usage.TotalTokens != done.Usage.InputTokens+12 {
				t.Errorf("%d deltas making %q; done %q with usage %+v", deltas, text.String(), done.Text, done.Usage)
			}
		})
	}
}

func TestSDKSpeech(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{})
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			resp, err := c.Audio.Speech.New(ctx, openai.AudioSpeechNewParams{
				Model:          "gpt-4o-mini-tts",
				Input:          strings.Repeat("e", 15),
				Voice:          openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("alloy")},
				ResponseFormat: openai.AudioSpeechNewParamsResponseFormatWAV,
			})
			if err != nil {
				t.Fatalf("Speech.New: %v", err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Header.Get("Content-Type") != "audio/wav" || len(b) != 44+speechSampleRate*2 || string(b[:4]) != "RIFF" {
				t.Errorf("Content-Type %q, %d bytes starting %q; want 1 s of WAV", resp.Header.Get("Content-Type"), len(b), b[:4])
			}
		})
	}
}
