package mock

import "strconv"

// modelIDs is what GET /v1/models lists: the models the demo and the docs
// use, across every class the gateway routes.
var modelIDs = []string{
	"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-35-turbo-instruct",
	"text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002",
	"dall-e-2", "dall-e-3",
}

// modelsBody does not depend on the request, so it is built once.
var modelsBody = func() []byte {
	b := []byte(`{"object":"list","data":[`)
	for i, id := range modelIDs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendKV(b, "id", id)
		b = append(b, `,"object":"model","created":`...)
		b = strconv.AppendInt(b, 1715367049+int64(i), 10)
		b = append(b, `,"owned_by":"system"}`...)
	}
	return append(b, "]}"...)
}()
