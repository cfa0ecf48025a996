// Package apierror renders the errors the gateway and the management API
// answer themselves, in OpenAI's shape:
//
//	{"error": {"message": "...", "type": "...", "param": null, "code": "..."}}
package apierror

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Error is an error the gateway answers itself, rendered by Write. Handlers
// return errors; Write is the one place that renders them, always with all
// four OpenAI fields.
type Error struct {
	Status  int
	Message string
	Type    string
	Param   string // "" renders as null
	Code    string
	// RetryAfter, when positive, is sent as Retry-After in whole seconds,
	// rounded up.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// Error types, as OpenAI and LiteLLM name them where they have a name.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeUpstream       = "upstream_error"
	TypeServer         = "server_error"
)

// Body is the JSON body Write sends.
type Body struct {
	Error Fields `json:"error"`
	// Detail repeats the message for clients that read FastAPI's
	// {"detail": "..."}; WriteWithDetail sets it.
	Detail string `json:"detail,omitempty"`
}

// Fields are the four OpenAI error fields.
type Fields struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

// internal answers an error that is not an *Error.
var internal = &Error{Status: http.StatusInternalServerError, Message: "internal error; see the gateway log for the request id", Type: TypeServer, Code: "internal_error"}

// Write renders err as an OpenAI-shaped error. Errors that are not an
// *Error are internal: their text is logged by the caller, never shown.
func Write(w http.ResponseWriter, err error) { write(w, err, false) }

// WriteWithDetail is Write with a top-level "detail" field repeating the
// message, for clients written against FastAPI's HTTPException.
func WriteWithDetail(w http.ResponseWriter, err error) { write(w, err, true) }

func write(w http.ResponseWriter, err error, detail bool) {
	var e *Error
	if !errors.As(err, &e) {
		e = internal
	}
	body := Body{Error: Fields{Message: e.Message, Type: e.Type, Code: e.Code}}
	if e.Param != "" {
		param := e.Param
		body.Error.Param = &param
	}
	if detail {
		body.Detail = e.Message
	}
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Del("Content-Encoding")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(RetryAfterSeconds(e.RetryAfter), 10))
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(append(b, '\n'))
}

// RetryAfterSeconds rounds d up to whole seconds, at least 1.
func RetryAfterSeconds(d time.Duration) int64 {
	s := int64(math.Ceil(d.Seconds()))
	return max(s, 1)
}
