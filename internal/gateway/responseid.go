package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// eventResponseID reads the id of the response an event of a Responses
// stream carries ({"response":{"id":…}}), or "": what json.Unmarshal of
// the event's data into struct{Response struct{ID string}} reads. The
// first event, response.created, holds the whole response object, and
// encoding/json walked it twice (to validate, then to decode) by
// reflection, most of the rewriter's cost in a stream
// (BenchmarkRewriteStream); scanResponseID walks it once, and leaves to
// json.Unmarshal only what it cannot settle exactly as json would.
func eventResponseID(ev []byte) string {
	data := eventData(ev)
	if data == nil {
		return ""
	}
	if id, ok := scanResponseID(data); ok {
		return id
	}
	var e struct {
		Response struct {
			ID string `json:"id"`
		} `json:"response"`
	}
	if json.Unmarshal(data, &e) != nil {
		return ""
	}
	return e.Response.ID
}

var (
	responseKey = []byte("response")
	idKey       = []byte("id")
	// errUnsettled stops a scan whose answer is left to encoding/json.
	errUnsettled = errors.New("left to encoding/json")
)

// scanResponseID is eventResponseID's single walk of data, which it
// checks is valid JSON as json.Unmarshal does. It settles (ok) a JSON
// object with at most one member named exactly "response" and that an
// object with at most one member named exactly "id", a plain string
// (no escapes, valid UTF-8); anything json reads otherwise (a name
// matched with its case folded, a repeated or escaped name, an id with
// escapes, a null) or anything the scanner refuses (nesting past
// maxJSONDepth) is not settled. FuzzResponseID holds it to
// json.Unmarshal.
func scanResponseID(data []byte) (id string, ok bool) {
	s := scanner{b: data}
	s.ws()
	if !s.eat('{') {
		return "", false
	}
	s.ws()
	if s.eat('}') {
		return "", s.end() == nil
	}
	found := false
	for {
		ks, ke, escaped, err := s.key()
		if err != nil {
			return "", false
		}
		key := data[ks+1 : ke-1]
		switch {
		case escaped:
			return "", false
		case !bytes.EqualFold(key, responseKey):
			err = s.value(1)
		case found || string(key) != "response" || s.i >= len(data) || data[s.i] != '{':
			return "", false
		default:
			found = true
			id, err = s.objectID()
		}
		if err != nil {
			return "", false
		}
		more, err := s.more()
		if err != nil {
			return "", false
		}
		if !more {
			return id, s.end() == nil
		}
	}
}

// objectID scans the object at s, at depth 1, for its "id", on
// scanResponseID's terms.
func (s *scanner) objectID() (string, error) {
	var id string
	found := false
	err := s.object(1, func(key []byte, escaped bool, vs, ve int) error {
		switch {
		case escaped:
			return errUnsettled
		case !bytes.EqualFold(key[1:len(key)-1], idKey):
			return nil
		case found || string(key) != `"id"` || s.b[vs] != '"':
			return errUnsettled
		}
		v := s.b[vs+1 : ve-1]
		if bytes.IndexByte(v, '\\') >= 0 || !utf8.Valid(v) {
			return errUnsettled
		}
		found, id = true, string(v)
		return nil
	})
	return id, err
}
