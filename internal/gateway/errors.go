package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// apiError is an error the gateway answers itself. Handlers return errors;
// writeError is the one place that renders them, always with all four
// OpenAI fields.
type apiError struct {
	status  int
	message string
	typ     string
	param   string // "" renders as null
	code    string
	// retryAfter, when positive, is sent as Retry-After in whole seconds,
	// rounded up.
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.message }

// Error types, as OpenAI names them where it has a name.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typePermission     = "permission_error"
	typeRateLimit      = "rate_limit_error"
	typeUpstream       = "upstream_error"
	typeServer         = "server_error"
)

func errBadRequest(param, code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, message: fmt.Sprintf(format, args...), typ: typeInvalidRequest, param: param, code: code}
}

type errorBody struct {
	Error errorFields `json:"error"`
}

type errorFields struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

// writeError renders err as an OpenAI-shaped error. Errors that are not an
// *apiError are internal: their text is logged by the caller, never shown.
func writeError(w http.ResponseWriter, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = &apiError{status: http.StatusInternalServerError, message: "internal error; see the gateway log for the request id", typ: typeServer, code: "internal_error"}
	}
	body := errorBody{Error: errorFields{Message: e.message, Type: e.typ, Code: e.code}}
	if e.param != "" {
		body.Error.Param = &e.param
	}
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Del("Content-Encoding")
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(retryAfterSeconds(e.retryAfter), 10))
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(append(b, '\n'))
}

// retryAfterSeconds rounds d up to whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int64 {
	s := int64(math.Ceil(d.Seconds()))
	return max(s, 1)
}

// streamErrorEvent is the in-band SSE event that ends a stream which broke
// after bytes reached the client, so SDKs raise instead of seeing a clean end.
func streamErrorEvent(message string) []byte {
	b, _ := json.Marshal(errorBody{Error: errorFields{Message: message, Type: typeUpstream, Code: "stream_interrupted"}})
	out := make([]byte, 0, len(b)+8)
	out = append(out, "data: "...)
	out = append(out, b...)
	return append(out, "\n\n"...)
}
