package mock

import (
	"strconv"
)

const (
	defaultSearchTop = 3
	maxSearchTop     = 50
)

// searchRequest is the part of an Azure AI Search query the mock reads.
type searchRequest struct {
	Search string `json:"search"`
	Top    int    `json:"top"`
	Count  bool   `json:"count"`
}

// search answers an Azure AI Search query (POST body or GET query string)
// with top documents whose text derives from the query.
func (c *call) search() {
	var req searchRequest
	if c.route.ep == epSearch {
		if !c.readBody(&req) {
			return
		}
	} else {
		q := c.r.URL.RawQuery
		req.Search, _ = queryValue(q, "search")
		if top, ok := queryValue(q, "$top"); ok {
			n, err := strconv.Atoi(top)
			if err != nil {
				writeSearchError(c, "Invalid expression: '$top' must be an integer, got '"+top+"'.")
				return
			}
			req.Top = n
		}
		count, _ := queryValue(q, "$count")
		req.Count = count == "true"
	}
	top := req.Top
	if top == 0 {
		top = defaultSearchTop
	}
	if top < 0 || top > maxSearchTop {
		writeSearchError(c, "Invalid value for 'top': expected 1 to "+strconv.Itoa(maxSearchTop)+", got "+strconv.Itoa(top)+".")
		return
	}
	h := newHasher()
	h.add(c.route.name)
	h.add(req.Search)

	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], '{')
	b = appendKV(b, "@odata.context", c.origin()+"/indexes('"+c.route.name+"')/$metadata#docs(*)")
	if req.Count {
		b = append(b, ',')
		b = appendKInt(b, "@odata.count", int64(top))
	}
	b = append(b, `,"value":[`...)
	for i := range top {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"@search.score":`...)
		b = strconv.AppendFloat(b, 1/float64(i+1), 'g', 4, 64)
		b = append(b, `,"id":"`...)
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, `","title":`...)
		b = appendString(b, c.route.name+" document "+strconv.Itoa(i+1))
		b = append(b, `,"content":"`...)
		b = newAnswer(splitmix(uint64(h)+uint64(i)), 0).appendText(b)
		b = append(b, `"}`...)
	}
	b = append(b, "]}"...)
	*bp = b
	c.writeBody(b)
}

// writeSearchError writes Azure AI Search's error shape.
func writeSearchError(c *call, msg string) {
	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], `{"error":{"code":"",`...)
	b = appendKV(b, "message", msg)
	b = append(b, "}}"...)
	*bp = b
	writeJSON(c.w, 400, b)
}
