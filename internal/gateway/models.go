package gateway

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/config"
)

// The models routes answer what the caller may use: the public models
// with an active deployment, less those its key or event does not allow.
// OpenAI-style routes answer in OpenAI's shape; Azure's /openai/models in
// Azure's, with capabilities read from the classes the model is served by.

// callerModels lists the models the caller may use, sorted.
func (g *Gateway) callerModels(r *http.Request) ([]string, error) {
	p, err := g.authenticate(r)
	if err != nil {
		return nil, err
	}
	models := g.router.Models()
	if allowed := access.Models(p); allowed != nil {
		models = slices.DeleteFunc(models, func(m string) bool { return !slices.Contains(allowed, m) })
	}
	return models, nil
}

// callerModel returns the path's model when the caller may use it, else
// a 404 naming it.
func (g *Gateway) callerModel(r *http.Request) (string, error) {
	models, err := g.callerModels(r)
	if err != nil {
		return "", err
	}
	id := r.PathValue("id")
	if !slices.Contains(models, id) {
		return "", &apierror.Error{Status: http.StatusNotFound, Message: "The model '" + id + "' does not exist or your key may not use it; GET /v1/models lists the models it may use", Type: apierror.TypeInvalidRequest, Param: "model", Code: "model_not_found"}
	}
	return id, nil
}

func (g *Gateway) listModels(w http.ResponseWriter, r *http.Request) error {
	models, err := g.callerModels(r)
	if err != nil {
		return err
	}
	b := make([]byte, 0, 64+len(models)*64)
	b = append(b, `{"object":"list","data":[`...)
	for i, m := range models {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOpenAIModel(b, m)
	}
	return writeJSONBody(w, append(b, "]}\n"...))
}

func (g *Gateway) getModel(w http.ResponseWriter, r *http.Request) error {
	m, err := g.callerModel(r)
	if err != nil {
		return err
	}
	return writeJSONBody(w, append(appendOpenAIModel(nil, m), '\n'))
}

func appendOpenAIModel(b []byte, m string) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendQuote(b, m)
	return append(b, `,"object":"model","created":0,"owned_by":"spillway"}`...)
}

func (g *Gateway) listAzureModels(w http.ResponseWriter, r *http.Request) error {
	models, err := g.callerModels(r)
	if err != nil {
		return err
	}
	b := make([]byte, 0, 64+len(models)*256)
	b = append(b, `{"object":"list","data":[`...)
	for i, m := range models {
		if i > 0 {
			b = append(b, ',')
		}
		b = g.appendAzureModel(b, m)
	}
	return writeJSONBody(w, append(b, "]}\n"...))
}

func (g *Gateway) getAzureModel(w http.ResponseWriter, r *http.Request) error {
	m, err := g.callerModel(r)
	if err != nil {
		return err
	}
	return writeJSONBody(w, append(g.appendAzureModel(nil, m), '\n'))
}

// appendAzureModel appends m in the shape of Azure OpenAI's Models_Get.
func (g *Gateway) appendAzureModel(b []byte, m string) []byte {
	serves := func(class string) bool {
		_, err := g.router.Pool(m, class)
		return err == nil
	}
	b = append(b, `{"id":`...)
	b = strconv.AppendQuote(b, m)
	b = append(b, `,"object":"model","created_at":0,"status":"succeeded","lifecycle_status":"generally-available","capabilities":{"fine_tune":false,"inference":true`...)
	for _, c := range []struct{ name, class string }{
		{"chat_completion", config.ClassChat},
		{"completion", config.ClassCompletions},
		{"embeddings", config.ClassEmbeddings},
	} {
		b = append(b, `,"`...)
		b = append(b, c.name...)
		b = append(b, `":`...)
		b = strconv.AppendBool(b, serves(c.class))
	}
	return append(b, "}}"...)
}

func writeJSONBody(w http.ResponseWriter, b []byte) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(b)
	return err
}
