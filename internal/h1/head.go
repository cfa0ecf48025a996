package h1

import (
	"fmt"
	"net/http"

	"golang.org/x/net/http/httpguts"
)

// check refuses what net/http's Transport refuses before sending
// (validateHeaders, validMethod): a method, or a header or trailer field
// name, that is not a token, and a value with a control character but
// tab. Request.Write would send such a method as it is, drop such a name
// and turn CR and LF to spaces; a request that asks for any of them is
// not the one it meant to send.
func check(r *http.Request) error {
	if r.Method != "" && !httpguts.ValidHeaderFieldName(r.Method) {
		return fmt.Errorf("h1: invalid method %q", r.Method)
	}
	if err := checkFields("header", r.Header); err != nil {
		return err
	}
	return checkFields("trailer", r.Trailer)
}

func checkFields(kind string, h http.Header) error {
	for name, values := range h {
		if !httpguts.ValidHeaderFieldName(name) {
			return fmt.Errorf("h1: invalid %s field name %q", kind, name)
		}
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				// Not the value: it may be a secret.
				return fmt.Errorf("h1: invalid %s field value for %q", kind, name)
			}
		}
	}
	return nil
}
