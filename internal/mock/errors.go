package mock

import (
	"io"
	"net/http"
	"strconv"
	"time"
)

// Error bodies copied from what Azure OpenAI and OpenAI really send, so
// that a gateway's failure classifier can be tested against them. Azure's
// own errors carry only "code" and "message"; OpenAI's carry all four of
// message, type, param and code.
const (
	// Azure401Body is Azure OpenAI's answer to a missing or wrong api-key.
	Azure401Body = `{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}`
	// Azure403Body is Azure OpenAI's answer when a network rule blocks the caller.
	Azure403Body = `{"error":{"code":"403","message":"Access denied due to Virtual Network/Firewall rules."}}`
	// Azure404Body is Azure OpenAI's answer for a deployment that does not exist.
	Azure404Body = `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}`
	// ContentFilterBody is Azure OpenAI's 400 for a prompt its content
	// management policy rejects.
	ContentFilterBody = `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"}}}}}`
	// ContextLengthBody is OpenAI's 400 for a prompt longer than the model's
	// context window.
	ContextLengthBody = `{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`
	// ServerErrorBody is OpenAI's answer for its own 5xx failures.
	ServerErrorBody = `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`
	// MissingAPIVersionBody is Azure's 400 for a request without api-version.
	MissingAPIVersionBody = `{"error":{"code":"MissingApiVersionParameter","message":"The api-version query parameter (?api-version=) is required for all requests."}}`
	// invalidJSONBody is OpenAI's 400 for a body that is not JSON.
	invalidJSONBody = `{"error":{"message":"We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)","type":"invalid_request_error","param":null,"code":null}}`
	// tooLargeBody answers a request body over maxRequestBody.
	tooLargeBody = `{"error":{"message":"Request body too large for the mock (limit 32 MiB).","type":"invalid_request_error","param":null,"code":"request_too_large"}}`
)

// defaultAPIVersion is quoted in Azure messages when the request named none.
const defaultAPIVersion = "2024-10-21"

// Precomputed header values; net/http never modifies them.
var (
	jsonContentType = []string{"application/json"}
	sseContentType  = []string{"text/event-stream; charset=utf-8"}
	noCache         = []string{"no-cache"}
)

// writeJSON writes a complete JSON response.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeJSONString(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// writeError writes an OpenAI-shaped error with all four fields; empty
// param or code are written as null.
func writeError(w http.ResponseWriter, status int, message, typ, param, code string) {
	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], `{"error":{`...)
	b = appendKV(b, "message", message)
	b = append(b, ',')
	b = appendKV(b, "type", typ)
	b = append(b, `,"param":`...)
	b = appendNullable(b, param)
	b = append(b, `,"code":`...)
	b = appendNullable(b, code)
	b = append(b, "}}"...)
	*bp = b
	writeJSON(w, status, b)
}

// writeAzureError writes Azure's own error shape, which has only a code
// and a message.
func writeAzureError(w http.ResponseWriter, status int, code, message string) {
	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], `{"error":{`...)
	b = appendKV(b, "code", code)
	b = append(b, ',')
	b = appendKV(b, "message", message)
	b = append(b, "}}"...)
	*bp = b
	writeJSON(w, status, b)
}

func appendNullable(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

// badRequest is the usual 400 for a request the mock cannot serve.
func badRequest(w http.ResponseWriter, message, param, code string) {
	writeError(w, http.StatusBadRequest, message, "invalid_request_error", param, code)
}

// writeStatusFault answers with the body a real service sends for status.
func writeStatusFault(w http.ResponseWriter, f *Fault, rt route, apiVersion string) {
	h := w.Header()
	secs := int64(0)
	if f.RetryAfter > 0 {
		secs = ceilDiv(f.RetryAfter, time.Second)
		h["Retry-After"] = []string{strconv.FormatInt(secs, 10)}
	}
	if f.RetryAfterPrecise > 0 {
		h["Retry-After-Ms"] = []string{strconv.FormatInt(ceilDiv(f.RetryAfterPrecise, time.Millisecond), 10)}
		if secs == 0 {
			secs = ceilDiv(f.RetryAfterPrecise, time.Second)
		}
	}
	status := f.Status
	if status < 100 || status > 999 {
		// Not an HTTP status (a Fault built in code, unvalidated).
		status = http.StatusInternalServerError
	}
	switch {
	case status == http.StatusTooManyRequests:
		if secs == 0 {
			secs = 1
		}
		writeRateLimited(w, rt.operation(), apiVersion, secs)
	case status >= 500:
		writeJSONString(w, status, ServerErrorBody)
	case status < 400:
		writeError(w, status, "Injected status "+strconv.Itoa(status)+".", "invalid_request_error", "", "")
	case status == http.StatusBadRequest && f.Code == codeContextLong:
		writeJSONString(w, status, ContextLengthBody)
	case status == http.StatusBadRequest:
		writeJSONString(w, status, ContentFilterBody)
	case status == http.StatusUnauthorized:
		writeJSONString(w, status, Azure401Body)
	case status == http.StatusForbidden:
		writeJSONString(w, status, Azure403Body)
	case status == http.StatusNotFound:
		writeJSONString(w, status, Azure404Body)
	default:
		text := http.StatusText(status)
		if text == "" {
			text = "Error " + strconv.Itoa(status)
		}
		writeError(w, status, text+".", "invalid_request_error", "", "")
	}
}

// writeRateLimited writes Azure's 429 body.
func writeRateLimited(w http.ResponseWriter, operation, apiVersion string, secs int64) {
	unit := " seconds."
	if secs == 1 {
		unit = " second."
	}
	msg := "Requests to the " + operation + " Operation under Azure OpenAI API version " + apiVersion +
		" have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after " +
		strconv.FormatInt(secs, 10) + unit +
		" Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."
	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], `{"error":{"code":"429",`...)
	b = appendKV(b, "message", msg)
	b = append(b, "}}"...)
	*bp = b
	writeJSON(w, http.StatusTooManyRequests, b)
}
