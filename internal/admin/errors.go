package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// apiError is an error the management API answers itself. Handlers return
// errors; writeError is the one place that renders them, always with the
// four OpenAI fields.
type apiError struct {
	status  int
	message string
	typ     string
	param   string // "" renders as null
	code    string
}

func (e *apiError) Error() string { return e.message }

// Error types, as OpenAI and LiteLLM name them.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typeNotFound       = "not_found_error"
	typeServer         = "server_error"
)

func errBadRequest(param, code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, message: fmt.Sprintf(format, args...), typ: typeInvalidRequest, param: param, code: code}
}

func errNotFound(id string) *apiError {
	return &apiError{
		status:  http.StatusNotFound,
		message: fmt.Sprintf("no deployment with id %q; GET /admin/v1/deployments lists them", id),
		typ:     typeNotFound, param: "id", code: "deployment_not_found",
	}
}

// errConfigDeployment refuses a change to a deployment the config file
// defines: the file is the source of truth for those.
func errConfigDeployment(id string) *apiError {
	return &apiError{
		status:  http.StatusConflict,
		message: fmt.Sprintf("deployment %s is defined in the config file; edit the file to change it", id),
		typ:     typeInvalidRequest, param: "id", code: "config_deployment",
	}
}

func errExists(id string) *apiError {
	return &apiError{
		status:  http.StatusConflict,
		message: fmt.Sprintf("deployment %s already exists; PATCH /admin/v1/deployments/%s changes it", id, id),
		typ:     typeInvalidRequest, param: "id", code: "deployment_exists",
	}
}

// errRoute answers a path (404) or a method (405) the API does not serve.
func errRoute(r *http.Request, status int) *apiError {
	if status == http.StatusMethodNotAllowed {
		return &apiError{status: status, message: fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path), typ: typeInvalidRequest, code: "method_not_allowed"}
	}
	return &apiError{status: http.StatusNotFound, message: fmt.Sprintf("no management route %s %s", r.Method, r.URL.Path), typ: typeNotFound, code: "not_found"}
}

// errInternal hides an unexpected error's text from the client; the
// handler logs it.
var errInternal = &apiError{status: http.StatusInternalServerError, message: "internal error; see the gateway log", typ: typeServer, code: "internal_error"}

type errorBody struct {
	Error errorFields `json:"error"`
	// Detail repeats the message for the seed-compatible routes, whose
	// clients (FastAPI's HTTPException) read {"detail": "..."}.
	Detail string `json:"detail,omitempty"`
}

type errorFields struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

// writeError renders err. Errors that are not an *apiError render as a
// 500 whose text the caller has logged.
func writeError(w http.ResponseWriter, err error, withDetail bool) {
	var e *apiError
	if !errors.As(err, &e) {
		e = errInternal
	}
	body := errorBody{Error: errorFields{Message: e.message, Type: e.typ, Code: e.code}}
	if e.param != "" {
		body.Error.Param = &e.param
	}
	if withDetail {
		body.Detail = e.message
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="spillway admin"`)
	}
	writeJSON(w, e.status, body)
}

// writeJSON writes v as the response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own response types reach here; failing to encode one
		// is a bug, not a client problem.
		b, status = []byte(`{"error":{"message":"internal error; see the gateway log","type":"server_error","param":null,"code":"internal_error"}}`), http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
