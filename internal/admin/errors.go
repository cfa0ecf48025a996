package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spillwayhq/spillway/internal/apierror"
)

func errBadRequest(param, code, format string, args ...any) *apierror.Error {
	return &apierror.Error{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...), Type: apierror.TypeInvalidRequest, Param: param, Code: code}
}

// onlyOnce answers 400 naming the first of params that q gives more than
// once: which of the values was meant is anyone's guess.
func onlyOnce(q url.Values, params ...string) error {
	for _, p := range params {
		if n := len(q[p]); n > 1 {
			return errBadRequest(p, "invalid_parameter", "%s is given %d times; give it once", p, n)
		}
	}
	return nil
}

// errNoSuch answers a request for a deployment, key or event (kind) that
// does not exist, and says where the existing ones are listed.
func errNoSuch(kind, id string) *apierror.Error {
	return &apierror.Error{
		Status:  http.StatusNotFound,
		Message: fmt.Sprintf("no %s with id %q; GET /admin/v1/%ss lists them", kind, id, kind),
		Type:    apierror.TypeNotFound, Param: "id", Code: kind + "_not_found",
	}
}

// errConfigDeployment refuses a change to a deployment the config file
// defines: the file is the source of truth for those.
func errConfigDeployment(id string) *apierror.Error {
	return &apierror.Error{
		Status:  http.StatusConflict,
		Message: fmt.Sprintf("deployment %s is defined in the config file; edit the file to change it", id),
		Type:    apierror.TypeInvalidRequest, Param: "id", Code: "config_deployment",
	}
}

func errExists(id string) *apierror.Error {
	return &apierror.Error{
		Status:  http.StatusConflict,
		Message: fmt.Sprintf("deployment %s already exists; PATCH /admin/v1/deployments/%s changes it", id, id),
		Type:    apierror.TypeInvalidRequest, Param: "id", Code: "deployment_exists",
	}
}

// errRoute answers a path (404) or a method (405) the API does not serve.
func errRoute(r *http.Request, status int) *apierror.Error {
	if status == http.StatusMethodNotAllowed {
		return &apierror.Error{Status: status, Message: fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path), Type: apierror.TypeInvalidRequest, Code: "method_not_allowed"}
	}
	return &apierror.Error{Status: http.StatusNotFound, Message: fmt.Sprintf("no management route %s %s", r.Method, r.URL.Path), Type: apierror.TypeNotFound, Code: "not_found"}
}

// errInternal hides an unexpected error's text from the client; the
// handler logs it.
var errInternal = &apierror.Error{Status: http.StatusInternalServerError, Message: "internal error; see the gateway log", Type: apierror.TypeServer, Code: "internal_error"}

// writeError renders err. Errors that are not an *apierror.Error render as
// a 500 whose text the caller has logged. withDetail adds the top-level
// "detail" the seed-compatible routes' clients (FastAPI's HTTPException)
// read.
func writeError(w http.ResponseWriter, err error, withDetail bool) {
	var e *apierror.Error
	if !errors.As(err, &e) {
		e = errInternal
	}
	h := w.Header()
	if e.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="spillway admin"`)
	}
	h.Set("Cache-Control", "no-store")
	if withDetail {
		apierror.WriteWithDetail(w, e)
	} else {
		apierror.Write(w, e)
	}
}

// writeJSON writes v as the response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own response types reach here; failing to encode one
		// is a bug, not a client problem.
		apierror.Write(w, errInternal)
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
