package mock

import (
	"slices"
	"strconv"
)

// The stored-response routes. Only the server that made a response knows
// it (see objects); an id from elsewhere gets OpenAI's 404.

const (
	defaultItemsLimit = 20
	maxItemsLimit     = 100
)

// advance moves a background response on by one step: queued, then
// in_progress, then its final status.
func advance(st *respState) {
	switch st.status {
	case statusQueued:
		st.status = statusInProgress
	case statusInProgress:
		st.status = st.final
	}
}

// getResponse answers GET .../responses/{id}: the response as it is now,
// a background one a step further than at the last GET. With
// ?stream=true it replays the response's events, from starting_after.
func (c *call) getResponse() {
	q := c.r.URL.RawQuery
	stream, _ := queryValue(q, "stream")
	after := -1
	if v, ok := queryValue(q, "starting_after"); ok && stream == "true" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			badRequest(c.w, "Invalid 'starting_after': expected a non-negative integer, got '"+v+"'.", "starting_after", "invalid_value")
			return
		}
		after = n
	}
	var st respState
	ok := c.s.responses.with(c.route.id, func(p *respState) {
		if stream == "true" && p.status != statusCancelled {
			// A stream shows the response to its end.
			p.status = p.final
		}
		advance(p)
		st = *p
	})
	if !ok {
		c.respondNotFound(c.route.id)
		return
	}
	if stream == "true" && st.status != statusCancelled {
		c.streamResponse(&st, after)
		return
	}
	c.writeResponse(&st)
}

// deleteResponse answers DELETE .../responses/{id}.
func (c *call) deleteResponse() {
	id := c.route.id
	if !c.s.responses.remove(id) {
		c.respondNotFound(id)
		return
	}
	b := append([]byte(nil), '{')
	b = appendKV(b, "id", id)
	b = append(b, `,"object":"response.deleted","deleted":true}`...)
	c.writeBody(b)
}

// cancelResponse answers POST .../responses/{id}/cancel. Only background
// responses can be cancelled; one that is already done is returned as it
// is.
func (c *call) cancelResponse() {
	var st respState
	ok := c.s.responses.with(c.route.id, func(p *respState) {
		if p.background && (p.status == statusQueued || p.status == statusInProgress) {
			p.status = statusCancelled
		}
		st = *p
	})
	switch {
	case !ok:
		c.respondNotFound(c.route.id)
	case !st.background:
		badRequest(c.w, "Cannot cancel a synchronous response.", "", "")
	default:
		c.writeResponse(&st)
	}
}

// responseInputItems answers GET .../responses/{id}/input_items: the
// input items of the response, newest first unless order=asc, limit at a
// time, after the item named by after.
func (c *call) responseInputItems() {
	q := c.r.URL.RawQuery
	limit := defaultItemsLimit
	if v, ok := queryValue(q, "limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxItemsLimit {
			badRequest(c.w, "Invalid 'limit': expected an integer between 1 and "+strconv.Itoa(maxItemsLimit)+", got '"+v+"'.", "limit", "invalid_value")
			return
		}
		limit = n
	}
	order, _ := queryValue(q, "order")
	if order != "" && order != "asc" && order != "desc" {
		badRequest(c.w, "Invalid value for 'order': must be 'asc' or 'desc', got '"+order+"'.", "order", "invalid_value")
		return
	}
	st, ok := c.s.responses.get(c.route.id)
	if !ok {
		c.respondNotFound(c.route.id)
		return
	}
	items := slices.Clone(st.input)
	if order != "asc" {
		slices.Reverse(items)
	}
	if after, ok := queryValue(q, "after"); ok {
		i := slices.IndexFunc(items, func(it respItem) bool { return it.id == after })
		items = items[i+1:] // an unknown id (-1) lists from the start
	}
	more := len(items) > limit
	items = items[:min(limit, len(items))]

	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], `{"object":"list","data":[`...)
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendInputItem(b, &items[i])
	}
	b = append(b, `],"first_id":`...)
	first, last := "", ""
	if len(items) > 0 {
		first, last = items[0].id, items[len(items)-1].id
	}
	b = appendNullable(b, first)
	b = append(b, `,"last_id":`...)
	b = appendNullable(b, last)
	b = append(b, `,"has_more":`...)
	b = strconv.AppendBool(b, more)
	b = append(b, '}')
	*bp = b
	c.writeBody(b)
}

// responseInputTokens answers POST .../responses/input_tokens: what the
// request would count as input tokens, previous response included.
func (c *call) responseInputTokens() {
	var req responseRequest
	if !c.readBody(&req) {
		return
	}
	prev, ok := c.previousResponse(req.PreviousResponseID)
	if !ok {
		return
	}
	h := newHasher()
	_, n := c.readInput(&req, &h)
	if prev != nil {
		n += prev.context
	}
	b := append([]byte(nil), `{"object":"response.input_tokens",`...)
	b = appendKInt(b, "input_tokens", int64(n))
	c.writeBody(append(b, '}'))
}
