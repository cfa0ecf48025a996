package mock

import (
	"net/http"
	"net/url"
	"strings"
)

// endpoint is the operation a request asks for, whatever its URL shape.
type endpoint uint8

const (
	epChat endpoint = iota + 1
	epCompletions
	epEmbeddings
	epImages
	epModels
	epSearch     // POST .../docs/search
	epSearchDocs // GET .../docs
	epImageFile  // GET /mock/images/{name}.png, the URLs images answers point to
	// epImagesSubmit starts a DALL-E 2 job: POST /openai/images/generations:submit.
	epImagesSubmit
	// epImageOperation polls one: GET /openai/operations/images/{id}.
	epImageOperation
)

// shape is the URL family a request came in by.
type shape uint8

const (
	shapeOpenAI  shape = iota + 1 // /v1/...
	shapeAzureV1                  // /openai/v1/..., model in the body
	shapeAzure                    // /openai/deployments/{deployment}/...
	shapeSearch                   // /indexes/{index}/... (Azure AI Search)
	shapeMock                     // /mock/... (served by the mock itself)
)

// route is a parsed request path.
type route struct {
	ep    endpoint
	shape shape
	// name is the deployment (shapeAzure), the index (shapeSearch), the
	// image file (epImageFile) or the job (epImageOperation).
	name string
}

func (rt route) method() string {
	switch rt.ep {
	case epModels, epSearchDocs, epImageFile, epImageOperation:
		return http.MethodGet
	}
	return http.MethodPost
}

// operation is the Azure operation name, as Azure's 429 messages spell it.
func (rt route) operation() string {
	switch rt.ep {
	case epChat:
		return "ChatCompletions_Create"
	case epCompletions:
		return "Completions_Create"
	case epEmbeddings:
		return "Embeddings_Create"
	case epImages:
		return "ImageGenerations_Create"
	case epSearch, epSearchDocs:
		return "Documents_Search"
	case epImagesSubmit:
		return "ImageGenerations_Submit"
	case epImageOperation:
		return "ImageOperations_Get"
	}
	return "Models_List"
}

// parseRoute maps a URL path to a route without allocating.
func parseRoute(path string) (route, bool) {
	if rest, ok := strings.CutPrefix(path, "/v1/"); ok {
		return openAIRoute(rest, shapeOpenAI)
	}
	if rest, ok := strings.CutPrefix(path, "/openai/"); ok {
		if rest, ok := strings.CutPrefix(rest, "v1/"); ok {
			return openAIRoute(rest, shapeAzureV1)
		}
		if rest == "images/generations:submit" {
			return route{ep: epImagesSubmit, shape: shapeAzure}, true
		}
		if id, ok := strings.CutPrefix(rest, "operations/images/"); ok {
			if id == "" || strings.Contains(id, "/") {
				return route{}, false
			}
			return route{ep: epImageOperation, shape: shapeAzure, name: id}, true
		}
		rest, ok := strings.CutPrefix(rest, "deployments/")
		if !ok {
			return route{}, false
		}
		dep, op, ok := strings.Cut(rest, "/")
		if !ok || dep == "" {
			return route{}, false
		}
		if op == "extensions/chat/completions" {
			op = "chat/completions"
		}
		rt, ok := openAIRoute(op, shapeAzure)
		if !ok || rt.ep == epModels {
			return route{}, false
		}
		rt.name = dep
		return rt, true
	}
	if rest, ok := strings.CutPrefix(path, "/indexes"); ok {
		return searchRoute(rest)
	}
	if name, ok := strings.CutPrefix(path, "/mock/images/"); ok && strings.HasSuffix(name, ".png") && !strings.Contains(name, "/") {
		return route{ep: epImageFile, shape: shapeMock, name: strings.TrimSuffix(name, ".png")}, true
	}
	return route{}, false
}

func openAIRoute(op string, sh shape) (route, bool) {
	var ep endpoint
	switch op {
	case "chat/completions":
		ep = epChat
	case "completions":
		ep = epCompletions
	case "embeddings":
		ep = epEmbeddings
	case "images/generations":
		ep = epImages
	case "models":
		ep = epModels
	default:
		return route{}, false
	}
	return route{ep: ep, shape: sh}, true
}

// searchRoute parses what follows "/indexes": "/{index}/docs..." or the
// OData spelling "('{index}')/docs...".
func searchRoute(rest string) (route, bool) {
	var index, op string
	switch {
	case strings.HasPrefix(rest, "/"):
		var ok bool
		index, op, ok = strings.Cut(rest[1:], "/")
		if !ok {
			return route{}, false
		}
	case strings.HasPrefix(rest, "('"):
		var ok bool
		index, op, ok = strings.Cut(rest[2:], "')/")
		if !ok {
			return route{}, false
		}
	default:
		return route{}, false
	}
	if index == "" {
		return route{}, false
	}
	switch op {
	case "docs/search", "docs/search.post.search":
		return route{ep: epSearch, shape: shapeSearch, name: index}, true
	case "docs":
		return route{ep: epSearchDocs, shape: shapeSearch, name: index}, true
	}
	return route{}, false
}

// queryValue returns the first value of key in a raw query string without
// building a url.Values map. Values that need unescaping are unescaped.
func queryValue(rawQuery, key string) (string, bool) {
	for rawQuery != "" {
		var kv string
		kv, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, v, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(k, "%+") {
			k, _ = url.QueryUnescape(k)
		}
		if k != key {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			if u, err := url.QueryUnescape(v); err == nil {
				return u, true
			}
		}
		return v, true
	}
	return "", false
}
