package mock

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// endpoint is the operation a request asks for, whatever its URL shape.
type endpoint uint8

const (
	epChat endpoint = iota + 1
	epCompletions
	epEmbeddings
	epImages
	epImageEdits
	epImageVariations
	epModels
	epModel      // GET .../models/{id}
	epSearch     // POST .../docs/search
	epSearchDocs // GET .../docs
	epImageFile  // GET /mock/images/{name}.png, the URLs images answers point to
	// epImagesSubmit starts a DALL-E 2 job: POST /openai/images/generations:submit.
	epImagesSubmit
	// epImageOperation polls one: GET /openai/operations/images/{id}.
	epImageOperation
	epResponses          // POST .../responses
	epResponseTokens     // POST .../responses/input_tokens
	epResponseGet        // GET .../responses/{id}
	epResponseDelete     // DELETE .../responses/{id}
	epResponseCancel     // POST .../responses/{id}/cancel
	epResponseInputItems // GET .../responses/{id}/input_items
	epTranscriptions
	epTranslations
	epSpeech
	epModerations
	epRealtime     // GET .../realtime, a WebSocket
	epFiles        // POST .../files
	epFileList     // GET .../files
	epFileGet      // GET .../files/{id}
	epFileDelete   // DELETE .../files/{id}
	epFileContent  // GET .../files/{id}/content
	epUploads      // POST .../uploads
	epUploadParts  // POST .../uploads/{id}/parts
	epUploadDone   // POST .../uploads/{id}/complete
	epUploadCancel // POST .../uploads/{id}/cancel
	epBatches      // POST .../batches
	epBatchList    // GET .../batches
	epBatchGet     // GET .../batches/{id}
	epBatchCancel  // POST .../batches/{id}/cancel
	epVectorStores
	epVectorStoreList
	epVectorStoreGet
	epVectorStoreModify
	epVectorStoreDelete
	epVectorStoreSearch
	epVSFileCreate
	epVSFileList
	epVSFileGet
	epVSFileDelete
	epVSFileContent
	epVSBatchCreate
	epVSBatchGet
	epVSBatchCancel
	epVSBatchFiles
	epConversations
	epConversationGet
	epConversationUpdate
	epConversationDelete
	epItemsCreate
	epItemsList
	epItemGet
	epItemDelete
	epCount // not an endpoint: the size of the ops table
)

// shape is the URL family a request came in by. Shapes are bits so that
// an operation can list the shapes it is served in.
type shape uint16

const (
	shapeOpenAI       shape = 1 << iota // /v1/...
	shapeAzureV1                        // /openai/v1/..., model in the body
	shapeAzure                          // /openai/deployments/{deployment}/...?api-version=
	shapeAzurePreview                   // /openai/...?api-version=, model in the body
	shapeSearch                         // /indexes/{index}/... (Azure AI Search)
	shapeMock                           // /mock/... (served by the mock itself)
	shapeInference                      // /models/... (Azure AI Inference), model in the body or a header

	// openAIShapes are the shapes that mirror OpenAI's /v1 paths.
	openAIShapes = shapeOpenAI | shapeAzureV1
	// deploymentShapes adds Azure's per-deployment paths.
	deploymentShapes = openAIShapes | shapeAzure
)

// needsAPIVersion reports whether the shape's requests must carry
// ?api-version=, as Azure's classic routes do.
func (sh shape) needsAPIVersion() bool { return sh&(shapeAzure|shapeAzurePreview) != 0 }

// op is one row of the operation table: where an operation is served and
// how it is answered.
type op struct {
	// pattern is the path after the shape's prefix; a "{id}" segment
	// matches any one non-empty segment. Empty for the operations that
	// have parsers of their own (search, image files).
	pattern string
	method  string
	shapes  shape
	// azureName is the operation as Azure's 429 messages spell it.
	azureName string
	serve     func(*call)
}

// ops describes every operation, indexed by endpoint. Where two patterns
// could match one path (responses/input_tokens and responses/{id}) the
// literal one is listed first: parseRoute tries rows in endpoint order.
var ops = [epCount]op{
	epChat:               {"chat/completions", http.MethodPost, deploymentShapes, "ChatCompletions_Create", (*call).chat},
	epCompletions:        {"completions", http.MethodPost, deploymentShapes, "Completions_Create", (*call).completions},
	epEmbeddings:         {"embeddings", http.MethodPost, deploymentShapes, "Embeddings_Create", (*call).embeddings},
	epImages:             {"images/generations", http.MethodPost, deploymentShapes, "ImageGenerations_Create", (*call).images},
	epImageEdits:         {"images/edits", http.MethodPost, deploymentShapes | shapeAzurePreview, "ImageEdits_Create", (*call).imageEdits},
	epImageVariations:    {"images/variations", http.MethodPost, deploymentShapes | shapeAzurePreview, "ImageVariations_Create", (*call).imageVariations},
	epModels:             {"models", http.MethodGet, openAIShapes | shapeAzurePreview, "Models_List", (*call).models},
	epModel:              {"models/{id}", http.MethodGet, openAIShapes | shapeAzurePreview, "Models_Get", (*call).model},
	epSearch:             {"", http.MethodPost, shapeSearch, "Documents_Search", (*call).search},
	epSearchDocs:         {"", http.MethodGet, shapeSearch, "Documents_Search", (*call).search},
	epImageFile:          {"", http.MethodGet, shapeMock, "", nil}, // served before any check, see ServeHTTP
	epImagesSubmit:       {"images/generations:submit", http.MethodPost, shapeAzurePreview, "ImageGenerations_Submit", (*call).submitImages},
	epImageOperation:     {"operations/images/{id}", http.MethodGet, shapeAzurePreview, "ImageOperations_Get", (*call).imageOperation},
	epResponses:          {"responses", http.MethodPost, deploymentShapes | shapeAzurePreview, "Responses_Create", (*call).createResponse},
	epResponseTokens:     {"responses/input_tokens", http.MethodPost, deploymentShapes | shapeAzurePreview, "Responses_InputTokens", (*call).responseInputTokens},
	epResponseGet:        {"responses/{id}", http.MethodGet, openAIShapes | shapeAzurePreview, "Responses_Get", (*call).getResponse},
	epResponseDelete:     {"responses/{id}", http.MethodDelete, openAIShapes | shapeAzurePreview, "Responses_Delete", (*call).deleteResponse},
	epResponseCancel:     {"responses/{id}/cancel", http.MethodPost, openAIShapes | shapeAzurePreview, "Responses_Cancel", (*call).cancelResponse},
	epResponseInputItems: {"responses/{id}/input_items", http.MethodGet, openAIShapes | shapeAzurePreview, "Responses_ListInputItems", (*call).responseInputItems},
	epTranscriptions:     {"audio/transcriptions", http.MethodPost, deploymentShapes, "Transcriptions_Create", (*call).transcribe},
	epTranslations:       {"audio/translations", http.MethodPost, deploymentShapes, "Translations_Create", (*call).transcribe},
	epSpeech:             {"audio/speech", http.MethodPost, deploymentShapes, "Speech_Create", (*call).speech},
	epModerations:        {"moderations", http.MethodPost, deploymentShapes | shapeAzurePreview, "Moderations_Create", (*call).moderate},
	epRealtime:           {"realtime", http.MethodGet, openAIShapes | shapeAzurePreview, "Realtime_Connect", (*call).realtime},
	epFiles:              {"files", http.MethodPost, openAIShapes | shapeAzurePreview, "Files_Upload", (*call).createFile},
	epFileList:           {"files", http.MethodGet, openAIShapes | shapeAzurePreview, "Files_List", (*call).listFiles},
	epFileGet:            {"files/{id}", http.MethodGet, openAIShapes | shapeAzurePreview, "Files_Get", (*call).getFile},
	epFileDelete:         {"files/{id}", http.MethodDelete, openAIShapes | shapeAzurePreview, "Files_Delete", (*call).deleteFile},
	epFileContent:        {"files/{id}/content", http.MethodGet, openAIShapes | shapeAzurePreview, "Files_GetContent", (*call).fileContent},
	epUploads:            {"uploads", http.MethodPost, openAIShapes | shapeAzurePreview, "Uploads_Create", (*call).createUpload},
	epUploadParts:        {"uploads/{id}/parts", http.MethodPost, openAIShapes | shapeAzurePreview, "Uploads_AddPart", (*call).addPart},
	epUploadDone:         {"uploads/{id}/complete", http.MethodPost, openAIShapes | shapeAzurePreview, "Uploads_Complete", (*call).completeUpload},
	epUploadCancel:       {"uploads/{id}/cancel", http.MethodPost, openAIShapes | shapeAzurePreview, "Uploads_Cancel", (*call).cancelUpload},
	epBatches:            {"batches", http.MethodPost, openAIShapes | shapeAzurePreview, "Batch_Create", (*call).createBatch},
	epBatchList:          {"batches", http.MethodGet, openAIShapes | shapeAzurePreview, "Batch_List", (*call).listBatches},
	epBatchGet:           {"batches/{id}", http.MethodGet, openAIShapes | shapeAzurePreview, "Batch_Get", (*call).getBatch},
	epBatchCancel:        {"batches/{id}/cancel", http.MethodPost, openAIShapes | shapeAzurePreview, "Batch_Cancel", (*call).cancelBatch},
	epVectorStores:       {"vector_stores", http.MethodPost, openAIShapes | shapeAzurePreview, "VectorStores_Create", (*call).createVectorStore},
	epVectorStoreList:    {"vector_stores", http.MethodGet, openAIShapes | shapeAzurePreview, "VectorStores_List", (*call).listVectorStores},
	epVectorStoreGet:     {"vector_stores/{id}", http.MethodGet, openAIShapes | shapeAzurePreview, "VectorStores_Get", (*call).getVectorStore},
	epVectorStoreModify:  {"vector_stores/{id}", http.MethodPost, openAIShapes | shapeAzurePreview, "VectorStores_Modify", (*call).modifyVectorStore},
	epVectorStoreDelete:  {"vector_stores/{id}", http.MethodDelete, openAIShapes | shapeAzurePreview, "VectorStores_Delete", (*call).deleteVectorStore},
	epVectorStoreSearch:  {"vector_stores/{id}/search", http.MethodPost, openAIShapes | shapeAzurePreview, "VectorStores_Search", (*call).searchVectorStore},
	epVSFileCreate:       {"vector_stores/{id}/files", http.MethodPost, openAIShapes | shapeAzurePreview, "VectorStoreFiles_Create", (*call).addVectorStoreFile},
	epVSFileList:         {"vector_stores/{id}/files", http.MethodGet, openAIShapes | shapeAzurePreview, "VectorStoreFiles_List", (*call).listVectorStoreFiles},
	epVSFileGet:          {"vector_stores/{id}/files/{sub}", http.MethodGet, openAIShapes | shapeAzurePreview, "VectorStoreFiles_Get", (*call).getVectorStoreFile},
	epVSFileDelete:       {"vector_stores/{id}/files/{sub}", http.MethodDelete, openAIShapes | shapeAzurePreview, "VectorStoreFiles_Delete", (*call).deleteVectorStoreFile},
	epVSFileContent:      {"vector_stores/{id}/files/{sub}/content", http.MethodGet, openAIShapes | shapeAzurePreview, "VectorStoreFiles_GetContent", (*call).vectorStoreFileContent},
	epVSBatchCreate:      {"vector_stores/{id}/file_batches", http.MethodPost, openAIShapes | shapeAzurePreview, "VectorStoreFileBatches_Create", (*call).createFileBatch},
	epVSBatchGet:         {"vector_stores/{id}/file_batches/{sub}", http.MethodGet, openAIShapes | shapeAzurePreview, "VectorStoreFileBatches_Get", (*call).getFileBatch},
	epVSBatchCancel:      {"vector_stores/{id}/file_batches/{sub}/cancel", http.MethodPost, openAIShapes | shapeAzurePreview, "VectorStoreFileBatches_Cancel", (*call).getFileBatch},
	epVSBatchFiles:       {"vector_stores/{id}/file_batches/{sub}/files", http.MethodGet, openAIShapes | shapeAzurePreview, "VectorStoreFileBatches_ListFiles", (*call).listFileBatchFiles},
	epConversations:      {"conversations", http.MethodPost, openAIShapes | shapeAzurePreview, "Conversations_Create", (*call).createConversation},
	epConversationGet:    {"conversations/{id}", http.MethodGet, openAIShapes | shapeAzurePreview, "Conversations_Get", (*call).getConversation},
	epConversationUpdate: {"conversations/{id}", http.MethodPost, openAIShapes | shapeAzurePreview, "Conversations_Update", (*call).updateConversation},
	epConversationDelete: {"conversations/{id}", http.MethodDelete, openAIShapes | shapeAzurePreview, "Conversations_Delete", (*call).deleteConversation},
	epItemsCreate:        {"conversations/{id}/items", http.MethodPost, openAIShapes | shapeAzurePreview, "ConversationItems_Create", (*call).createItems},
	epItemsList:          {"conversations/{id}/items", http.MethodGet, openAIShapes | shapeAzurePreview, "ConversationItems_List", (*call).listItems},
	epItemGet:            {"conversations/{id}/items/{sub}", http.MethodGet, openAIShapes | shapeAzurePreview, "ConversationItems_Get", (*call).getItem},
	epItemDelete:         {"conversations/{id}/items/{sub}", http.MethodDelete, openAIShapes | shapeAzurePreview, "ConversationItems_Delete", (*call).deleteItem},
}

// inferenceOps are the Azure AI Inference routes, under /models/: they
// answer like chat and embeddings.
var inferenceOps = map[string]endpoint{"chat/completions": epChat, "embeddings": epEmbeddings}

// route is a parsed request path.
type route struct {
	ep    endpoint
	shape shape
	// name is the deployment (shapeAzure) or the index (shapeSearch).
	name string
	// id is the path's {id}: a response, a model, a DALL-E 2 job, or an
	// image file; sub is a nested object's id (a vector store's file).
	id  string
	sub string
}

// operation is the Azure operation name, as Azure's 429 messages spell it.
func (rt route) operation() string { return ops[rt.ep].azureName }

// parseRoute maps a request's method and path to a route without
// allocating. When the path is known but the method is not, ok is false
// and allow lists the methods the path takes.
func parseRoute(method, path string) (rt route, allow string, ok bool) {
	var rest string
	var sh shape
	switch {
	case strings.HasPrefix(path, "/v1/"):
		rest, sh = path[len("/v1/"):], shapeOpenAI
	case strings.HasPrefix(path, "/openai/v1/"):
		rest, sh = path[len("/openai/v1/"):], shapeAzureV1
	case strings.HasPrefix(path, "/openai/deployments/"):
		dep, op, found := strings.Cut(path[len("/openai/deployments/"):], "/")
		if !found || dep == "" {
			return route{}, "", false
		}
		if op == "extensions/chat/completions" {
			op = "chat/completions"
		}
		rt, allow, ok = matchOp(method, op, shapeAzure)
		if ok {
			rt.name = dep
		}
		return rt, allow, ok
	case strings.HasPrefix(path, "/openai/"):
		rest, sh = path[len("/openai/"):], shapeAzurePreview
	case strings.HasPrefix(path, "/models/"):
		ep, found := inferenceOps[path[len("/models/"):]]
		if !found {
			return route{}, "", false
		}
		return methodRoute(method, route{ep: ep, shape: shapeInference})
	case strings.HasPrefix(path, "/indexes"):
		rt, ok := searchRoute(path[len("/indexes"):])
		if !ok {
			return route{}, "", false
		}
		return methodRoute(method, rt)
	case strings.HasPrefix(path, "/mock/images/"):
		name := path[len("/mock/images/"):]
		if !strings.HasSuffix(name, ".png") || strings.Contains(name, "/") {
			return route{}, "", false
		}
		return methodRoute(method, route{ep: epImageFile, shape: shapeMock, id: strings.TrimSuffix(name, ".png")})
	default:
		return route{}, "", false
	}
	return matchOp(method, rest, sh)
}

// matchOp finds the row of ops whose pattern matches rest in shape sh
// and that takes method. If rows match the path but none the method, it
// lists their methods.
func matchOp(method, rest string, sh shape) (route, string, bool) {
	known := false
	for ep := range epCount {
		o := &ops[ep]
		if o.shapes&sh == 0 || o.pattern == "" {
			continue
		}
		if id, ok := matchPattern(o.pattern, rest); ok {
			if o.method == method {
				return route{ep: ep, shape: sh, id: id, sub: subSegment(o.pattern, rest)}, "", true
			}
			known = true
		}
	}
	if !known {
		return route{}, "", false
	}
	var allow []string
	for ep := range epCount {
		o := &ops[ep]
		if o.shapes&sh != 0 && o.pattern != "" && !slices.Contains(allow, o.method) {
			if _, ok := matchPattern(o.pattern, rest); ok {
				allow = append(allow, o.method)
			}
		}
	}
	return route{}, strings.Join(allow, ", "), false
}

// methodRoute checks the method of a route found by a parser of its own.
func methodRoute(method string, rt route) (route, string, bool) {
	if want := ops[rt.ep].method; method != want {
		return route{}, want, false
	}
	return rt, "", true
}

// matchPattern matches path against pattern segment by segment; a "{id}"
// segment matches one non-empty segment, which it returns.
func matchPattern(pattern, path string) (id string, ok bool) {
	for {
		pseg, prest, pmore := strings.Cut(pattern, "/")
		seg, rest, more := strings.Cut(path, "/")
		switch {
		case pmore != more:
			return "", false
		case pseg == "{id}" || pseg == "{sub}":
			if seg == "" {
				return "", false
			}
			if pseg == "{id}" {
				id = seg
			}
		case pseg != seg:
			return "", false
		}
		if !more {
			return id, true
		}
		pattern, path = prest, rest
	}
}

// subSegment returns the segment of path at the pattern's "{sub}", the
// second id of a nested object (a vector store's file).
func subSegment(pattern, path string) string {
	for {
		pseg, prest, pmore := strings.Cut(pattern, "/")
		seg, rest, more := strings.Cut(path, "/")
		if pseg == "{sub}" {
			return seg
		}
		if !pmore || !more {
			return ""
		}
		pattern, path = prest, rest
	}
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
