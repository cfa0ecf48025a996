package provider

import (
	"fmt"
	"net/http"

	"github.com/spillwayhq/spillway/internal/config"
)

// Operation is what a client asked for, independent of URL shape.
type Operation uint8

// Operations. Each has one row in specs, which is everything the gateway
// and the providers know about it; adding an operation is adding a row.
const (
	Chat Operation = iota
	Completions
	Embeddings
	Images
	ExtensionsChat
	// Search is an Azure AI Search query (POST .../docs/search).
	Search
	// SearchDocs is an Azure AI Search query by GET (.../docs?search=).
	SearchDocs
	// ImagesSubmit starts an Azure DALL-E 2 job
	// (POST /openai/images/generations:submit).
	ImagesSubmit
	// ImageOperation polls a DALL-E 2 job (GET /openai/operations/images/{id}).
	ImageOperation
	// Responses creates a response (POST /v1/responses).
	Responses
	// ResponseGet, ResponseDelete, ResponseCancel and ResponseInputItems
	// act on a stored response: /v1/responses/{id}[/cancel|/input_items].
	ResponseGet
	ResponseDelete
	ResponseCancel
	ResponseInputItems
	// ResponseInputTokens counts a Responses request's input tokens
	// (POST /v1/responses/input_tokens).
	ResponseInputTokens
	// Transcriptions and Translations take a multipart audio file.
	Transcriptions
	Translations
	// Speech turns text into audio (binary answer).
	Speech
	Moderations
	// ImageEdits and ImageVariations take multipart images.
	ImageEdits
	ImageVariations
	// Realtime opens a Realtime API WebSocket session (GET /v1/realtime
	// with an upgrade); see RealtimeURL.
	Realtime
	// Files, uploads and batches: objects held upstream (objects.go in
	// the gateway). Their lists are the gateway's own, from its registry.
	FileCreate
	FileGet
	FileDelete
	FileContent
	UploadCreate
	UploadPart
	UploadComplete
	UploadCancel
	BatchCreate
	BatchGet
	BatchCancel
	// Vector stores, their files and file batches; the operations on a
	// store's file or batch address it below the store (Sub).
	VectorStoreCreate
	VectorStoreGet
	VectorStoreModify
	VectorStoreDelete
	VectorStoreSearch
	VectorStoreFileAdd
	VectorStoreFileList
	VectorStoreFileGet
	VectorStoreFileDelete
	VectorStoreFileContent
	FileBatchCreate
	FileBatchGet
	FileBatchCancel
	FileBatchFiles
	// Conversations and their items, for the Responses API.
	ConversationCreate
	ConversationGet
	ConversationUpdate
	ConversationDelete
	ConversationItemsCreate
	ConversationItemsList
	ConversationItemGet
	ConversationItemDelete
	numOperations
)

// Body is the kind of request body an operation takes.
type Body uint8

const (
	// BodyJSON is a JSON object, peeked at for model, stream and caps.
	BodyJSON Body = iota
	// BodyMultipart is multipart/form-data; its model field is read, the
	// bytes are forwarded as they came.
	BodyMultipart
	// BodyNone is no body (GET, DELETE, and POSTs such as cancel).
	BodyNone
	// BodyOpaque is forwarded unread (AI Search queries).
	BodyOpaque
	// BodyStream is multipart/form-data streamed upstream as it arrives,
	// never held whole (file uploads up to MaxBody); it is checked on the
	// way, and sent to one deployment only, as it cannot be replayed.
	BodyStream
)

// AzureForm is where an Azure OpenAI resource serves an operation.
type AzureForm uint8

const (
	// AzureNone: Azure OpenAI does not serve it.
	AzureNone AzureForm = iota
	// AzureDeployment: /openai/deployments/{deployment}/{Path}?api-version.
	AzureDeployment
	// AzureV1: /openai/v1/{Path}, the deployment named by the body's model.
	AzureV1
	// AzureResource: on the resource, not a deployment (DALL-E 2 jobs).
	AzureResource
)

// Usage is how an operation's answer reports what it used.
type Usage uint8

const (
	// UsageNone: no token counts; recorded as a request.
	UsageNone Usage = iota
	// UsageTokens: a usage object with prompt/completion or input/output
	// tokens, at the end of a JSON body or in a stream event.
	UsageTokens
)

// Spec is one operation's row.
type Spec struct {
	Name   string // in usage records, metrics and spans
	Method string // upstream and client
	Class  string // the deployment class that serves it
	Body   Body
	// Path is below an OpenAI API base (…/v1). For an operation on an
	// object it is the collection; the id and then Suffix follow.
	Path   string
	Object bool
	Suffix string
	// OpenAI is false when OpenAI's API has no such operation.
	OpenAI bool
	Azure  AzureForm
	Usage  Usage
	// Cap is the body field a max-tokens cap applies to ("" when none);
	// a request without it gets it added.
	Cap string
	// StreamUsage means a stream reports usage only when asked with
	// stream_options.include_usage, which the gateway adds.
	StreamUsage bool
	// Events means its stream is the Responses API's typed events, whose
	// in-band error is an event of type "error".
	Events bool
	// Creates means a successful answer holds the id of a new object kept
	// upstream, which the gateway signs before the client sees it.
	Creates bool
	// MaxBody raises the gateway's body limit for the operation (audio
	// files); 0 keeps it.
	MaxBody int64
	// Kind is the kind of object held upstream the operation creates or
	// acts on ("file", "upload", "batch"), "" for the others. Its body
	// names no model: the gateway picks the deployment.
	Kind string
	// Sub means the path names a second object below the first, after
	// Suffix: {Path}/{id}{Suffix}/{sub}{SubSuffix} (a vector store's file).
	Sub       bool
	SubSuffix string
}

// MaxAudioBody is the most an audio or image-upload request may carry,
// OpenAI's own limit for audio files.
const MaxAudioBody = 25 << 20

// MaxFileBody is OpenAI's limit for one file, and MaxPartBody for one
// part of an upload.
const (
	MaxFileBody = 512 << 20
	MaxPartBody = 64 << 20
)

var specs = [numOperations]Spec{
	Chat:           {Name: "chat", Method: http.MethodPost, Class: config.ClassChat, Path: "/chat/completions", OpenAI: true, Azure: AzureDeployment, Usage: UsageTokens, Cap: "max_tokens", StreamUsage: true},
	Completions:    {Name: "completions", Method: http.MethodPost, Class: config.ClassCompletions, Path: "/completions", OpenAI: true, Azure: AzureDeployment, Usage: UsageTokens, Cap: "max_tokens", StreamUsage: true},
	Embeddings:     {Name: "embeddings", Method: http.MethodPost, Class: config.ClassEmbeddings, Path: "/embeddings", OpenAI: true, Azure: AzureDeployment, Usage: UsageTokens},
	Images:         {Name: "images", Method: http.MethodPost, Class: config.ClassImages, Path: "/images/generations", OpenAI: true, Azure: AzureDeployment},
	ExtensionsChat: {Name: "extensions-chat", Method: http.MethodPost, Class: config.ClassChat, Path: "/chat/completions", OpenAI: true, Azure: AzureDeployment, Usage: UsageTokens, Cap: "max_tokens", StreamUsage: true},
	Search:         {Name: "search", Method: http.MethodPost, Class: config.ClassSearch, Body: BodyOpaque},
	SearchDocs:     {Name: "search-docs", Method: http.MethodGet, Class: config.ClassSearch, Body: BodyOpaque},
	ImagesSubmit:   {Name: "images-submit", Method: http.MethodPost, Class: config.ClassImages, Azure: AzureResource, Creates: true},
	ImageOperation: {Name: "image-operation", Method: http.MethodGet, Class: config.ClassImages, Body: BodyNone, Azure: AzureResource, Object: true},

	Responses:           {Name: "responses", Method: http.MethodPost, Class: config.ClassChat, Path: "/responses", OpenAI: true, Azure: AzureV1, Usage: UsageTokens, Cap: "max_output_tokens", Events: true, Creates: true},
	ResponseGet:         {Name: "response-get", Method: http.MethodGet, Class: config.ClassChat, Body: BodyNone, Path: "/responses", Object: true, OpenAI: true, Azure: AzureV1, Events: true},
	ResponseDelete:      {Name: "response-delete", Method: http.MethodDelete, Class: config.ClassChat, Body: BodyNone, Path: "/responses", Object: true, OpenAI: true, Azure: AzureV1},
	ResponseCancel:      {Name: "response-cancel", Method: http.MethodPost, Class: config.ClassChat, Body: BodyNone, Path: "/responses", Object: true, Suffix: "/cancel", OpenAI: true, Azure: AzureV1},
	ResponseInputItems:  {Name: "response-input-items", Method: http.MethodGet, Class: config.ClassChat, Body: BodyNone, Path: "/responses", Object: true, Suffix: "/input_items", OpenAI: true, Azure: AzureV1},
	ResponseInputTokens: {Name: "response-input-tokens", Method: http.MethodPost, Class: config.ClassChat, Path: "/responses/input_tokens", OpenAI: true, Azure: AzureV1},

	Transcriptions:  {Name: "transcriptions", Method: http.MethodPost, Class: config.ClassAudio, Body: BodyMultipart, Path: "/audio/transcriptions", OpenAI: true, Azure: AzureDeployment, Usage: UsageTokens, MaxBody: MaxAudioBody},
	Translations:    {Name: "translations", Method: http.MethodPost, Class: config.ClassAudio, Body: BodyMultipart, Path: "/audio/translations", OpenAI: true, Azure: AzureDeployment, Usage: UsageTokens, MaxBody: MaxAudioBody},
	Speech:          {Name: "speech", Method: http.MethodPost, Class: config.ClassAudio, Path: "/audio/speech", OpenAI: true, Azure: AzureDeployment},
	Moderations:     {Name: "moderations", Method: http.MethodPost, Class: config.ClassModerations, Path: "/moderations", OpenAI: true},
	ImageEdits:      {Name: "image-edits", Method: http.MethodPost, Class: config.ClassImages, Body: BodyMultipart, Path: "/images/edits", OpenAI: true, Azure: AzureDeployment, MaxBody: MaxAudioBody},
	Realtime:        {Name: "realtime", Method: http.MethodGet, Class: config.ClassRealtime, Body: BodyNone, Path: "/realtime", OpenAI: true, Azure: AzureV1, Usage: UsageTokens},
	ImageVariations: {Name: "image-variations", Method: http.MethodPost, Class: config.ClassImages, Body: BodyMultipart, Path: "/images/variations", OpenAI: true, MaxBody: MaxAudioBody},

	FileCreate:     {Name: "file-create", Method: http.MethodPost, Class: config.ClassChat, Body: BodyStream, Path: "/files", OpenAI: true, Azure: AzureV1, Creates: true, MaxBody: MaxFileBody, Kind: "file"},
	FileGet:        {Name: "file-get", Method: http.MethodGet, Class: config.ClassChat, Body: BodyNone, Path: "/files", Object: true, OpenAI: true, Azure: AzureV1, Kind: "file"},
	FileDelete:     {Name: "file-delete", Method: http.MethodDelete, Class: config.ClassChat, Body: BodyNone, Path: "/files", Object: true, OpenAI: true, Azure: AzureV1, Kind: "file"},
	FileContent:    {Name: "file-content", Method: http.MethodGet, Class: config.ClassChat, Body: BodyNone, Path: "/files", Object: true, Suffix: "/content", OpenAI: true, Azure: AzureV1, Kind: "file"},
	UploadCreate:   {Name: "upload-create", Method: http.MethodPost, Class: config.ClassChat, Path: "/uploads", OpenAI: true, Azure: AzureV1, Creates: true, Kind: "upload"},
	UploadPart:     {Name: "upload-part", Method: http.MethodPost, Class: config.ClassChat, Body: BodyStream, Path: "/uploads", Object: true, Suffix: "/parts", OpenAI: true, Azure: AzureV1, MaxBody: MaxPartBody, Kind: "upload"},
	UploadComplete: {Name: "upload-complete", Method: http.MethodPost, Class: config.ClassChat, Path: "/uploads", Object: true, Suffix: "/complete", OpenAI: true, Azure: AzureV1, Kind: "upload"},
	UploadCancel:   {Name: "upload-cancel", Method: http.MethodPost, Class: config.ClassChat, Body: BodyNone, Path: "/uploads", Object: true, Suffix: "/cancel", OpenAI: true, Azure: AzureV1, Kind: "upload"},
	BatchCreate:    {Name: "batch-create", Method: http.MethodPost, Class: config.ClassChat, Path: "/batches", OpenAI: true, Azure: AzureV1, Creates: true, Kind: "batch"},
	BatchGet:       {Name: "batch-get", Method: http.MethodGet, Class: config.ClassChat, Body: BodyNone, Path: "/batches", Object: true, OpenAI: true, Azure: AzureV1, Kind: "batch"},
	BatchCancel:    {Name: "batch-cancel", Method: http.MethodPost, Class: config.ClassChat, Body: BodyNone, Path: "/batches", Object: true, Suffix: "/cancel", OpenAI: true, Azure: AzureV1, Kind: "batch"},

	VectorStoreCreate:       {Name: "vector-store-create", Method: http.MethodPost, Class: config.ClassChat, Path: "/vector_stores", OpenAI: true, Azure: AzureV1, Creates: true, Kind: "vector_store"},
	VectorStoreGet:          {Name: "vector-store-get", Method: http.MethodGet, Class: config.ClassChat, Body: BodyNone, Path: "/vector_stores", Object: true, OpenAI: true, Azure: AzureV1, Kind: "vector_store"},
	VectorStoreModify:       {Name: "vector-store-modify", Method: http.MethodPost, Class: config.ClassChat, Path: "/vector_stores", Object: true, OpenAI: true, Azure: AzureV1, Kind: "vector_store"},
	VectorStoreDelete:       {Name: "vector-store-delete", Method: http.MethodDelete, Class: config.ClassChat, Body: BodyNone, Path: "/vector_stores", Object: true, OpenAI: true, Azure: AzureV1, Kind: "vector_store"},
	VectorStoreSearch:       {Name: "vector-store-search", Method: http.MethodPost, Class: config.ClassChat, Path: "/vector_stores", Object: true, Suffix: "/search", OpenAI: true, Azure: AzureV1, Kind: "vector_store"},
	VectorStoreFileAdd:      {Name: "vector-store-file-add", Method: http.MethodPost, Class: config.ClassChat, Path: "/vector_stores", Object: true, Suffix: "/files", OpenAI: true, Azure: AzureV1, Kind: "vector_store"},
	VectorStoreFileList:     {Name: "vector-store-file-list", Method: http.MethodGet, Class: config.ClassChat, Body: BodyNone, Path: "/vector_stores", Object: true, Suffix: "/files", OpenAI: true, Azure: AzureV1, Kind: "vector_store"},
	VectorStoreFileGet:      {Name: "vector-store-file-get", Method: http.MethodGet, Class: config.ClassChat, Body: BodyNone, Path: "/vector_stores", Object: true, Suffix: "/files", Sub: true, OpenAI: true, Azure: AzureV1, Kind: "vector_store"},
	VectorStoreFileDelete:   {Name: "vector-store-file-delete", Method: http.MethodDelete, Class: config.ClassChat, Body: BodyNone, Path: "/vector_stores", Object: true, Suffix: "/files", Sub: true, OpenAI: true, Azure: AzureV1, Kind: "vector_store"},
	VectorStoreFileContent:  {Name: "vector-store-file-content", Method: http.MethodGet, Class: config.ClassChat, Body: BodyNone, Path: "/vector_stores", Object: true, Suffix: "/files", Sub: true, SubSuffix: "/content", OpenAI: true, Azure: AzureV1, Kind: "vector_store"},
	FileBatchCreate:         {Name: "file-batch-create", Method: http.MethodPost, Class: config.ClassChat, Path: "/vector_stores", Object: true, Suffix: "/file_batches", OpenAI: true, Azure: AzureV1, Kind: "vector_store"},
	FileBatchGet:            {Name: "file-batch-get", Method: http.MethodGet, Class: config.ClassChat, Body: BodyNone, Path: "/vector_stores", Object: true, Suffix: "/file_batches", Sub: true, OpenAI: true, Azure: AzureV1, Kind: "vector_store"},
	FileBatchCancel:         {Name: "file-batch-cancel", Method: http.MethodPost, Class: config.ClassChat, Body: BodyNone, Path: "/vector_stores", Object: true, Suffix: "/file_batches", Sub: true, SubSuffix: "/cancel", OpenAI: true, Azure: AzureV1, Kind: "vector_store"},
	ConversationCreate:      {Name: "conversation-create", Method: http.MethodPost, Class: config.ClassChat, Path: "/conversations", OpenAI: true, Azure: AzureV1, Creates: true, Kind: "conversation"},
	ConversationGet:         {Name: "conversation-get", Method: http.MethodGet, Class: config.ClassChat, Body: BodyNone, Path: "/conversations", Object: true, OpenAI: true, Azure: AzureV1, Kind: "conversation"},
	ConversationUpdate:      {Name: "conversation-update", Method: http.MethodPost, Class: config.ClassChat, Path: "/conversations", Object: true, OpenAI: true, Azure: AzureV1, Kind: "conversation"},
	ConversationDelete:      {Name: "conversation-delete", Method: http.MethodDelete, Class: config.ClassChat, Body: BodyNone, Path: "/conversations", Object: true, OpenAI: true, Azure: AzureV1, Kind: "conversation"},
	ConversationItemsCreate: {Name: "conversation-items-create", Method: http.MethodPost, Class: config.ClassChat, Path: "/conversations", Object: true, Suffix: "/items", OpenAI: true, Azure: AzureV1, Kind: "conversation"},
	ConversationItemsList:   {Name: "conversation-items-list", Method: http.MethodGet, Class: config.ClassChat, Body: BodyNone, Path: "/conversations", Object: true, Suffix: "/items", OpenAI: true, Azure: AzureV1, Kind: "conversation"},
	ConversationItemGet:     {Name: "conversation-item-get", Method: http.MethodGet, Class: config.ClassChat, Body: BodyNone, Path: "/conversations", Object: true, Suffix: "/items", Sub: true, OpenAI: true, Azure: AzureV1, Kind: "conversation"},
	ConversationItemDelete:  {Name: "conversation-item-delete", Method: http.MethodDelete, Class: config.ClassChat, Body: BodyNone, Path: "/conversations", Object: true, Suffix: "/items", Sub: true, OpenAI: true, Azure: AzureV1, Kind: "conversation"},
	FileBatchFiles:          {Name: "file-batch-files", Method: http.MethodGet, Class: config.ClassChat, Body: BodyNone, Path: "/vector_stores", Object: true, Suffix: "/file_batches", Sub: true, SubSuffix: "/files", OpenAI: true, Azure: AzureV1, Kind: "vector_store"},
}

// Spec returns the operation's row. It must not be modified.
func (o Operation) Spec() *Spec { return &specs[o] }

func (o Operation) String() string {
	if o < numOperations {
		return specs[o].Name
	}
	return fmt.Sprintf("Operation(%d)", o)
}

// Class returns the deployment class that can serve the operation.
func (o Operation) Class() string { return specs[o].Class }

// Method is the HTTP method of the operation, upstream and from the client.
func (o Operation) Method() string { return specs[o].Method }

// Metered reports whether answers to the operation carry token usage; the
// others are recorded as requests only.
func (o Operation) Metered() bool { return specs[o].Usage == UsageTokens }
