package tracing

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
)

// SchemaURL names the semantic conventions release the spans follow, so a
// backend can translate them when the conventions move on.
const SchemaURL = "https://opentelemetry.io/schemas/1.41.0"

// Attribute keys from the OpenTelemetry GenAI semantic conventions, as
// published in Semantic Conventions v1.41.0 (registry "gen_ai", status
// Development; the Go constants are in go.opentelemetry.io/otel/semconv/v1.41.0,
// the last release of that repository to carry them before they moved to
// open-telemetry/semantic-conventions-genai). The older gen_ai.system is
// deprecated in favour of gen_ai.provider.name and is not emitted.
const (
	KeyOperationName     attribute.Key = "gen_ai.operation.name"
	KeyProviderName      attribute.Key = "gen_ai.provider.name"
	KeyRequestModel      attribute.Key = "gen_ai.request.model"
	KeyRequestMaxTokens  attribute.Key = "gen_ai.request.max_tokens"
	KeyRequestStream     attribute.Key = "gen_ai.request.stream"
	KeyOutputType        attribute.Key = "gen_ai.output.type"
	KeyResponseModel     attribute.Key = "gen_ai.response.model"
	KeyTimeToFirstChunk  attribute.Key = "gen_ai.response.time_to_first_chunk" // seconds
	KeyUsageInputTokens  attribute.Key = "gen_ai.usage.input_tokens"
	KeyUsageOutputTokens attribute.Key = "gen_ai.usage.output_tokens"
)

// Attribute keys from the stable general, HTTP and error conventions of
// Semantic Conventions v1.41.0 (registries "server", "http", "error").
const (
	KeyServerAddress          attribute.Key = "server.address"
	KeyServerPort             attribute.Key = "server.port"
	KeyHTTPResponseStatusCode attribute.Key = "http.response.status_code"
	KeyErrorType              attribute.Key = "error.type"
)

// Spillway's own attributes, for what the conventions have no name for.
const (
	KeyDeploymentID    attribute.Key = "spillway.deployment.id"
	KeyAttempt         attribute.Key = "spillway.attempt"  // 1-based number of an upstream attempt
	KeyAttempts        attribute.Key = "spillway.attempts" // upstream attempts a request took
	KeyCostUSD         attribute.Key = "spillway.cost_usd"
	KeyUsageEstimated  attribute.Key = "spillway.usage.estimated"
	KeyRequestID       attribute.Key = "spillway.request.id"
	KeyKeyID           attribute.Key = "spillway.key.id"
	KeyEventID         attribute.Key = "spillway.event.id"
	KeyGatewayEndpoint attribute.Key = "spillway.endpoint"
)

// Well-known values of gen_ai.operation.name, gen_ai.provider.name and
// gen_ai.output.type (Semantic Conventions v1.41.0). The conventions have no
// image-generation operation; generate_content ("multimodal content
// generation") with gen_ai.output.type "image" is the nearest well-known
// pair.
const (
	OperationChat            = "chat"
	OperationTextCompletion  = "text_completion"
	OperationEmbeddings      = "embeddings"
	OperationGenerateContent = "generate_content"

	ProviderOpenAI      = "openai"
	ProviderAzureOpenAI = "azure.ai.openai"

	OutputTypeImage = "image"

	// errorTypeOther is error.type's fallback when nothing better is known.
	errorTypeOther = "_OTHER"
)

// operationName maps the gateway's operation names (provider.Operation's
// String) to gen_ai.operation.name. Values it does not know, including ones
// already in the conventions' vocabulary, pass through unchanged, as the
// conventions allow custom operation names.
func operationName(op string) string {
	switch op {
	case "chat", "extensions-chat":
		return OperationChat
	case "completions":
		return OperationTextCompletion
	case "images":
		return OperationGenerateContent
	default:
		return op
	}
}

// providerName maps config.Deployment.Provider to gen_ai.provider.name. An
// OpenAI-compatible upstream speaks OpenAI's API and so reports "openai",
// the flavour of its telemetry; server.address tells which system it was.
// Unknown values pass through unchanged.
func providerName(p string) string {
	switch p {
	case "azure":
		return ProviderAzureOpenAI
	case "openai", "openai-compatible":
		return ProviderOpenAI
	default:
		return p
	}
}

// serverAddress splits an upstream's host into server.address and
// server.port. host may be "host", "host:port" (a url.URL's Host) or a base
// URL such as "https://x.openai.azure.com"; without a port the scheme's
// default is used, and HTTPS's when there is no scheme either, since that
// is how OpenAI and Azure OpenAI are served. A port of 0 means unknown.
func serverAddress(host string) (string, int) {
	scheme := "https"
	if strings.Contains(host, "://") {
		u, err := url.Parse(host)
		if err != nil {
			return host, 0
		}
		scheme, host = u.Scheme, u.Host
	}
	if h, p, err := net.SplitHostPort(host); err == nil {
		port, err := strconv.Atoi(p)
		if err != nil {
			return h, 0
		}
		return h, port
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	switch scheme {
	case "http":
		return host, 80
	case "https":
		return host, 443
	default:
		return host, 0
	}
}
