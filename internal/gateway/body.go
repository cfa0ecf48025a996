package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/spillwayhq/spillway/internal/apierror"
)

// readBody reads the whole request body, refusing more than limit bytes.
// The bytes are kept for the life of the request: every attempt replays
// them, and the transport may still be reading one after RoundTrip returns,
// so they are not pooled.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errTooLarge(limit)
	}
	size := r.ContentLength
	if size < 0 {
		size = 512
	}
	buf := make([]byte, 0, size+1) // +1 so a full read of a known length hits EOF without growing
	for {
		if int64(len(buf)) > limit {
			return nil, errTooLarge(limit)
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):min(int64(cap(buf)), limit+1)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			if int64(len(buf)) > limit {
				return nil, errTooLarge(limit)
			}
			return buf, nil
		}
		if err != nil {
			return nil, &apierror.Error{Status: http.StatusBadRequest, Message: "could not read the request body: " + err.Error(), Type: apierror.TypeInvalidRequest, Code: "invalid_body"}
		}
	}
}

func errTooLarge(limit int64) *apierror.Error {
	return &apierror.Error{
		Status:  http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("request body is larger than the gateway's limit of %d bytes; send less (fewer or smaller messages or images), or ask the operator to raise limits.max_body_bytes", limit),
		Type:    apierror.TypeInvalidRequest,
		Code:    "request_too_large",
	}
}
