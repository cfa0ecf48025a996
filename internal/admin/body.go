package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/spillwayhq/spillway/internal/apierror"
)

// decode reads r's JSON body into v. With strict, a field v does not have
// is an error naming it (the native API); the seed and LiteLLM dialects
// ignore unknown fields, as their originals do. Every failure is a 4xx
// naming what to fix, and never quotes the body: it may hold a key.
func decode(w http.ResponseWriter, r *http.Request, v any, strict bool) error {
	body := http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(body)
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	if err == nil {
		// One JSON value per request: trailing data is a client bug that
		// would otherwise be silently ignored.
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return errBadRequest("", "invalid_json", "invalid JSON: the body must hold one JSON object and nothing after it")
		}
		return nil
	}
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return &apierror.Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("request body too large: the limit is %d bytes", maxBody), Type: apierror.TypeInvalidRequest, Code: "request_too_large"}
	case errors.Is(err, io.EOF):
		return errBadRequest("", "invalid_json", "request body is empty; send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return errBadRequest("", "invalid_json", "invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errBadRequest("", "invalid_json", "invalid JSON: the body must be a JSON object, not %s", typ.Value)
		}
		return errBadRequest(typ.Field, "invalid_type", "%s: want %s, got %s", typ.Field, jsonKind(typ.Type), typ.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return errBadRequest(name, "unknown_field", "unknown field %q; remove it (GET /admin/v1/deployments shows the fields a deployment has)", name)
	}
	return errBadRequest("", "invalid_json", "invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	kind := t.Kind().String()
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "bool":
		return "true or false"
	case kind == "string":
		return "a string"
	case kind == "map", kind == "struct":
		return "an object"
	case kind == "slice":
		return "an array"
	}
	return kind
}
