package mock

import (
	"net/http"
	"strconv"
)

// modelKind is what a model is for; Azure's model list reports it as
// capabilities.
type modelKind uint8

const (
	kindChat modelKind = iota + 1
	kindCompletion
	kindEmbeddings
	kindOther // images, audio, moderation: inference only
)

type modelInfo struct {
	id   string
	kind modelKind
}

// knownModels is what GET /v1/models lists: the models the demo and the
// docs use, across every class the gateway routes. GET /v1/models/{id}
// knows only these, as OpenAI knows only its own.
var knownModels = []modelInfo{
	{"gpt-4o", kindChat}, {"gpt-4o-mini", kindChat}, {"gpt-4.1", kindChat}, {"gpt-4.1-mini", kindChat},
	{"gpt-35-turbo-instruct", kindCompletion},
	{"text-embedding-3-small", kindEmbeddings}, {"text-embedding-3-large", kindEmbeddings}, {"text-embedding-ada-002", kindEmbeddings},
	{"dall-e-2", kindOther}, {"dall-e-3", kindOther},
	{"gpt-5", kindChat}, {"gpt-5-mini", kindChat}, {"o3-mini", kindChat}, {"o4-mini", kindChat},
	{"gpt-image-1", kindOther}, {"whisper-1", kindOther}, {"gpt-4o-transcribe", kindOther}, {"gpt-4o-mini-transcribe", kindOther},
	{"tts-1", kindOther}, {"gpt-4o-mini-tts", kindOther}, {"omni-moderation-latest", kindOther},
}

// modelCreated is the made-up creation time of knownModels[i].
func modelCreated(i int) int64 { return 1715367049 + int64(i) }

// The lists do not depend on the request, so they are built once.
var (
	modelsBody      = buildModelList(appendModel)
	azureModelsBody = buildModelList(appendAzureModel)
)

func buildModelList(item func([]byte, int) []byte) []byte {
	b := []byte(`{"object":"list","data":[`)
	for i := range knownModels {
		if i > 0 {
			b = append(b, ',')
		}
		b = item(b, i)
	}
	return append(b, "]}"...)
}

// appendModel appends OpenAI's model object.
func appendModel(b []byte, i int) []byte {
	b = append(b, '{')
	b = appendKV(b, "id", knownModels[i].id)
	b = append(b, `,"object":"model","created":`...)
	b = strconv.AppendInt(b, modelCreated(i), 10)
	return append(b, `,"owned_by":"system"}`...)
}

// appendAzureModel appends the model object of Azure's /openai/models.
func appendAzureModel(b []byte, i int) []byte {
	m := knownModels[i]
	b = append(b, `{"status":"succeeded","capabilities":{"fine_tune":false,"inference":true,"completion":`...)
	b = strconv.AppendBool(b, m.kind == kindCompletion)
	b = append(b, `,"chat_completion":`...)
	b = strconv.AppendBool(b, m.kind == kindChat)
	b = append(b, `,"embeddings":`...)
	b = strconv.AppendBool(b, m.kind == kindEmbeddings)
	b = append(b, `},"lifecycle_status":"generally-available","deprecation":{"inference":`...)
	b = strconv.AppendInt(b, modelCreated(i)+2*365*24*3600, 10)
	b = append(b, `},`...)
	b = appendKV(b, "id", m.id)
	b = append(b, `,"created_at":`...)
	b = strconv.AppendInt(b, modelCreated(i), 10)
	return append(b, `,"object":"model"}`...)
}

// models answers GET .../models: OpenAI's list, or Azure's on the
// api-version route.
func (c *call) models() {
	if c.route.shape == shapeAzurePreview {
		c.writeBody(azureModelsBody)
		return
	}
	c.writeBody(modelsBody)
}

// model answers GET .../models/{id} for one of knownModels, 404 for the
// others in the shape of the API asked.
func (c *call) model() {
	id := c.route.id
	for i := range knownModels {
		if knownModels[i].id != id {
			continue
		}
		if c.route.shape == shapeAzurePreview {
			c.writeBody(appendAzureModel(nil, i))
		} else {
			c.writeBody(appendModel(nil, i))
		}
		return
	}
	if c.route.shape == shapeAzurePreview {
		writeAzureError(c.w, http.StatusNotFound, "NotFound", "The model '"+id+"' does not exist.")
		return
	}
	writeError(c.w, http.StatusNotFound, "The model '"+id+"' does not exist", "invalid_request_error", "model", "model_not_found")
}
