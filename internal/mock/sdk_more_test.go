package mock

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
)

func pngUpload(content string) io.Reader {
	return openai.File(strings.NewReader("\x89PNG"+content), content+".png", "image/png")
}

func TestSDKModerations(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{})
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			got, err := c.Moderations.New(ctx, openai.ModerationNewParams{
				Model: openai.ModerationModelOmniModerationLatest,
				Input: openai.ModerationNewParamsInputUnion{OfStringArray: []string{"I will kill them.", "Good morning."}},
			})
			if err != nil {
				t.Fatalf("Moderations.New: %v", err)
			}
			if len(got.Results) != 2 || !got.Results[0].Flagged || !got.Results[0].Categories.Violence || got.Results[0].CategoryScores.Violence < 0.9 || got.Results[1].Flagged {
				t.Errorf("results %+v, want the first flagged for violence, the second not", got.Results)
			}
			if types := got.Results[0].CategoryAppliedInputTypes.Violence; len(types) != 1 || types[0] != "text" {
				t.Errorf("violence applies to %v, want text", types)
			}
		})
	}
}

func TestSDKImageEdits(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{})
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			got, err := c.Images.Edit(ctx, openai.ImageEditParams{
				Model:          "gpt-image-1",
				Image:          openai.ImageEditParamsImageUnion{OfFileArray: []io.Reader{pngUpload("a"), pngUpload("b")}},
				Prompt:         "add a fish ladder",
				N:              openai.Int(2),
				ResponseFormat: openai.ImageEditParamsResponseFormatB64JSON,
			})
			if err != nil {
				t.Fatalf("Images.Edit: %v", err)
			}
			if len(got.Data) != 2 || got.Data[0].B64JSON == "" || got.Data[0].B64JSON == got.Data[1].B64JSON {
				t.Errorf("got %d images, want 2 different b64_json pictures", len(got.Data))
			}
			//lint:ignore SA1019 Azure and older deployments still take variations, so the mock does too
			v, err := c.Images.NewVariation(ctx, openai.ImageNewVariationParams{Model: "dall-e-2", Image: pngUpload("c")})
			if err != nil || len(v.Data) != 1 || !strings.Contains(v.Data[0].URL, "/mock/images/") {
				t.Errorf("Images.NewVariation = %+v, %v; want one picture URL", v, err)
			}
		})
	}
}

func TestSDKModels(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{})
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			m, err := c.Models.Get(ctx, "gpt-4o-mini")
			if err != nil || m.ID != "gpt-4o-mini" {
				t.Fatalf("Models.Get = %+v, %v; want gpt-4o-mini", m, err)
			}
			_, err = c.Models.Get(ctx, "gpt-0")
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
				t.Errorf("Models.Get(gpt-0) error %v, want a 404", err)
			}
			page, err := c.Models.List(ctx)
			if err != nil || len(page.Data) != len(knownModels) {
				t.Errorf("Models.List = %d models, %v; want %d", len(page.Data), err, len(knownModels))
			}
		})
	}
}
