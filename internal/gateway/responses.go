package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/spillwayhq/spillway/internal/apierror"
)

// The Responses API keeps what it answers: a response id can be fetched,
// cancelled, deleted and continued (previous_response_id), but only on the
// deployment that stored it. The gateway signs the ids it hands out
// (objects.go), sends every follow-up where the response lives, and
// rewrites the ids in answers so the client only ever sees its own.

// resolveObject reads the object id of a follow-up route (GET/DELETE
// /v1/responses/{id}, …/cancel, …/input_items): the response must be one
// this gateway signed for the caller's key, on a deployment that still
// exists. The deployment's model is the request's model, for access rules
// and usage.
func (g *Gateway) resolveObject(r *http.Request, req *exchange) error {
	id := r.PathValue("id")
	n := objectNames[req.spec.Kind]
	ref, ok := g.decodeObject(id, ownerOf(req.principal))
	if !ok {
		return errObjectNotFound(n.name, id, n.param)
	}
	d, ok := g.router.Deployment(ref.deployment)
	if !ok {
		return errObjectGone(strings.ToLower(n.name), id, ref.deployment, n.param)
	}
	req.model = d.Config.Model
	req.sticky, req.object = ref.deployment, ref
	if req.spec.Sub {
		sub := r.PathValue("sub")
		s, ok := g.decodeObject(sub, ownerOf(req.principal))
		if !ok || s.deployment != ref.deployment {
			return errObjectNotFound(subNames[req.spec.Suffix], sub, "")
		}
		req.sub = s
	}
	return g.translateCursors(r, req)
}

// resolvePrevious checks a previous_response_id, sends the request to the
// deployment that stored it, and puts the upstream's id in the body. A
// chain never silently starts over elsewhere: an unknown id, another
// key's, or one whose deployment is gone is a 404 that says so.
func (g *Gateway) resolvePrevious(req *exchange) error {
	id := req.peek.Previous
	ref, ok := g.decodeObject(id, ownerOf(req.principal))
	if !ok {
		e := errObjectNotFound("Previous response", id, "previous_response_id").(*apierror.Error)
		e.Code = "previous_response_not_found"
		return e
	}
	d, ok := g.router.Deployment(ref.deployment)
	if !ok {
		return errObjectGone("previous response", id, ref.deployment, "previous_response_id")
	}
	if d.Config.Model != req.model {
		return errBadRequest("previous_response_id", "previous_response_model_mismatch",
			"previous_response_id names a response of model %q (deployment %s), which holds the conversation; continue it with model %q", d.Config.Model, ref.deployment, d.Config.Model)
	}
	q, _ := json.Marshal(ref.upstream)
	p := req.peek
	out := splice(req.body, p.prevStart, p.prevEnd, q)
	p = p.moved(p.prevEnd, len(out)-len(req.body))
	p.prevEnd, p.Previous = p.prevStart+len(q), ref.upstream
	req.body, req.peek = out, p
	req.sticky, req.prev = ref.deployment, ref
	return nil
}

// idRewriter turns the upstream's object ids in an answer into the
// gateway's: the ones known from the request (the object addressed, the
// previous response), and, for an answer that creates an object, its new
// id once seen.
type idRewriter struct {
	g     *Gateway
	owner string
	pick  string // the deployment that answered
	// create is true while a new object's id is still to be found; made
	// is that id once found.
	create bool
	made   string
	from   [][]byte
	to     [][]byte
	// fromTo backs from and to: an answer has at most four ids to
	// rewrite (the object, the previous response, the conversation, the
	// one made), so appending them costs no allocation.
	fromTo [2][4][]byte
}

// newIDRewriter returns the rewriter of req's answer, or nil when the
// answer names no object.
func (g *Gateway) newIDRewriter(req *exchange, deployment string, status int) *idRewriter {
	if req.spec.Kind != "" {
		return nil // respondObject's, or a file's content
	}
	create := req.spec.Creates && status >= 200 && status <= 299
	if !create && req.object.upstream == "" && req.prev.upstream == "" && req.conv.upstream == "" {
		return nil
	}
	rw := &idRewriter{g: g, owner: ownerOf(req.principal), pick: deployment, create: create}
	rw.from, rw.to = rw.fromTo[0][:0], rw.fromTo[1][:0]
	if req.object.upstream != "" {
		rw.add(req.object.upstream, req.object.id)
	}
	if req.prev.upstream != "" {
		rw.add(req.prev.upstream, req.prev.id)
	}
	if req.conv.upstream != "" {
		rw.add(req.conv.upstream, req.conv.id)
	}
	return rw
}

// add adds a pair of ids, both in one allocation.
func (rw *idRewriter) add(upstream, client string) {
	pair := make([]byte, 0, len(upstream)+len(client))
	pair = append(append(pair, upstream...), client...)
	rw.from = append(rw.from, pair[:len(upstream):len(upstream)])
	rw.to = append(rw.to, pair[len(upstream):])
}

// created records the new object's upstream id, and signs it, the two in
// one allocation.
func (rw *idRewriter) created(upstream string) {
	rw.create = false
	if upstream != "" {
		rw.made = upstream
		pair := make([]byte, 0, len(upstream)+objectLen(rw.pick, rw.owner, upstream))
		pair = rw.g.appendObject(append(pair, upstream...), rw.pick, rw.owner, upstream)
		rw.from = append(rw.from, pair[:len(upstream):len(upstream)])
		rw.to = append(rw.to, pair[len(upstream):])
	}
}

// body rewrites a whole JSON answer whose top-level id is id. The answer
// is built in b's capacity past its length when it fits: the meter holds
// b alone (the attempt's buffer, read whole, or its own copy) and writes
// the answer out before it reads into that buffer again, so the answer
// costs no allocation. b itself is left as it is: the meter reads the
// usage from its tail after.
func (rw *idRewriter) body(b []byte, id string) []byte {
	if rw.create {
		rw.created(id)
	}
	return rw.rewrite(b, true)
}

// event rewrites one server-sent event. The first event of a Responses
// stream (response.created) carries the new response's id.
func (rw *idRewriter) event(ev []byte) []byte {
	if rw.create {
		if id := eventResponseID(ev); id != "" {
			rw.created(id)
		}
	}
	return rw.replace(ev)
}

// replace rewrites part of an answer, or an event, which may share its
// buffer with what follows it.
func (rw *idRewriter) replace(b []byte) []byte { return rw.rewrite(b, false) }

// rewrite returns b with every id replaced, exactly as bytes.ReplaceAll
// one id after the other did (FuzzRewrite): an id found in what an
// earlier one was replaced by is replaced too. An id that occurs costs one
// search of b, where bytes.ReplaceAll searched it twice (to count, then to
// copy) after bytes.Contains, and no allocation when spare says b's
// capacity past its length is free to write; one that does not occur
// costs one search.
func (rw *idRewriter) rewrite(b []byte, spare bool) []byte {
	for i, from := range rw.from {
		at := indexID(b, from)
		if at < 0 {
			continue
		}
		to := rw.to[i]
		var out []byte
		// Sized for one occurrence, as an answer has: more grow it.
		if n := len(b) + len(to) - len(from); spare && cap(b)-len(b) >= n {
			out = b[len(b):]
		} else {
			out = make([]byte, 0, n)
		}
		// What out does not use of its capacity is free for the next id.
		b, spare = appendReplaced(out, b, at, from, to), true
	}
	return b
}

// appendReplaced appends b to dst with every from replaced by to, the
// first at b[at:].
func appendReplaced(dst, b []byte, at int, from, to []byte) []byte {
	for at >= 0 {
		dst = append(dst, b[:at]...)
		dst = append(dst, to...)
		b = b[at+len(from):]
		at = indexID(b, from)
	}
	return append(dst, b...)
}

// indexID is bytes.Index(b, id) for an upstream id, found by what follows
// its type prefix (resp_, conv_, file-). bytes.Index stops at every
// occurrence of an id's first byte whose next byte matches too, and an
// answer is full of "re" (response, reasoning, created): the random part
// is found in a quarter of the time.
func indexID(b, id []byte) int {
	k := 0
	for i := 1; i < min(len(id)-1, 16); i++ {
		if id[i] == '_' || id[i] == '-' {
			k = i + 1
			break
		}
	}
	if k == 0 {
		return bytes.Index(b, id)
	}
	// Every id at q has its rest at q+k: the first rest with the prefix
	// before it is the first id.
	for off := k; off < len(b); {
		i := bytes.Index(b[off:], id[k:])
		if i < 0 {
			return -1
		}
		if i += off; string(b[i-k:i]) == string(id[:k]) {
			return i - k
		}
		off = i + 1
	}
	return -1
}

// eventData returns the data of a server-sent event (one data line, as
// OpenAI and Azure send them), or nil.
func eventData(ev []byte) []byte {
	for len(ev) > 0 {
		line := ev
		if i := bytes.IndexByte(ev, '\n'); i >= 0 {
			line, ev = ev[:i], ev[i+1:]
		} else {
			ev = nil
		}
		if d, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r"), []byte("data:")); ok {
			return bytes.TrimLeft(d, " ")
		}
	}
	return nil
}

// responsesErrorEvent is the Responses API's in-band error event, which
// ends a stream the upstream broke off.
func responsesErrorEvent(message string, seq int) []byte {
	e := struct {
		Type     string  `json:"type"`
		Code     string  `json:"code"`
		Message  string  `json:"message"`
		Param    *string `json:"param"`
		Sequence int     `json:"sequence_number"`
	}{"error", "stream_interrupted", message, nil, seq}
	b, _ := json.Marshal(e)
	out := make([]byte, 0, len(b)+32)
	out = append(out, "event: error\ndata: "...)
	out = append(out, b...)
	return append(out, "\n\n"...)
}
