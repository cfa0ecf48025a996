package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/spillwayhq/spillway/internal/apierror"
)

func errBadRequest(param, code, format string, args ...any) *apierror.Error {
	return &apierror.Error{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...), Type: apierror.TypeInvalidRequest, Param: param, Code: code}
}

// streamErrorEvent is the in-band SSE event that ends a stream which broke
// after bytes reached the client, so SDKs raise instead of seeing a clean end.
func streamErrorEvent(message string) []byte {
	b, _ := json.Marshal(apierror.Body{Error: apierror.Fields{Message: message, Type: apierror.TypeUpstream, Code: "stream_interrupted"}})
	out := make([]byte, 0, len(b)+8)
	out = append(out, "data: "...)
	out = append(out, b...)
	return append(out, "\n\n"...)
}
