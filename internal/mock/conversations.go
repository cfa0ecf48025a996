package mock

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Conversations keep items for the Responses API: created with items or
// empty, items added, listed, fetched and deleted; a response that names a
// conversation adds its input and its answer to it. Only this server
// knows its conversations.

const (
	maxConversations = 1000
	conversationTTL  = 24 * time.Hour
)

type mockConversation struct {
	ID        string            `json:"id"`
	Object    string            `json:"object"`
	CreatedAt int64             `json:"created_at"`
	Metadata  map[string]string `json:"metadata"`
	items     []map[string]any
}

// addItems gives each item an id and a status and keeps it.
func (c *call) addItems(conv *mockConversation, items []map[string]any) []map[string]any {
	out := make([]map[string]any, 0, len(items))
	for i, it := range items {
		it = maps(it)
		if _, ok := it["id"]; !ok {
			it["id"] = c.objectID("msg_", uint64(200+len(conv.items)+i))
		}
		if _, ok := it["type"]; !ok {
			it["type"] = "message"
		}
		it["status"] = "completed"
		if s, ok := it["content"].(string); ok {
			typ := "input_text"
			if it["role"] == "assistant" {
				typ = "output_text"
			}
			it["content"] = []any{map[string]any{"type": typ, "text": s}}
		}
		conv.items = append(conv.items, it)
		out = append(out, it)
	}
	return out
}

// maps copies an item so the stored one is not shared with the caller.
func maps(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (c *call) itemList(items []map[string]any) {
	first, last := any(nil), any(nil)
	if len(items) > 0 {
		first, last = items[0]["id"], items[len(items)-1]["id"]
	}
	if items == nil {
		items = []map[string]any{}
	}
	c.writeObject(map[string]any{"object": "list", "data": items, "first_id": first, "last_id": last, "has_more": false})
}

func (c *call) createConversation() {
	var req struct {
		Items    []map[string]any  `json:"items"`
		Metadata map[string]string `json:"metadata"`
	}
	if len(c.body) > 0 && !c.readBody(&req) {
		return
	}
	conv := mockConversation{ID: c.objectID("conv_", 8), Object: "conversation", CreatedAt: time.Now().Unix(), Metadata: req.Metadata}
	if conv.Metadata == nil {
		conv.Metadata = map[string]string{}
	}
	c.addItems(&conv, req.Items)
	c.s.conversations.add(conv.ID, conv)
	c.writeObject(conv)
}

// withConversation calls f on the path's conversation, or answers 404.
func (c *call) withConversation(f func(*mockConversation)) {
	if !c.s.conversations.with(c.route.id, f) {
		c.notFound("conversation", c.route.id)
	}
}

func (c *call) getConversation() {
	c.withConversation(func(conv *mockConversation) { c.writeObject(*conv) })
}

func (c *call) updateConversation() {
	var req struct {
		Metadata map[string]string `json:"metadata"`
	}
	if !c.readBody(&req) {
		return
	}
	c.withConversation(func(conv *mockConversation) {
		conv.Metadata = req.Metadata
		c.writeObject(*conv)
	})
}

func (c *call) deleteConversation() {
	if !c.s.conversations.remove(c.route.id) {
		c.notFound("conversation", c.route.id)
		return
	}
	c.writeObject(map[string]any{"id": c.route.id, "object": "conversation.deleted", "deleted": true})
}

func (c *call) createItems() {
	var req struct {
		Items []map[string]any `json:"items"`
	}
	if !c.readBody(&req) {
		return
	}
	if len(req.Items) == 0 {
		badRequest(c.w, "Missing required parameter: 'items'.", "items", "missing_required_parameter")
		return
	}
	c.withConversation(func(conv *mockConversation) { c.itemList(c.addItems(conv, req.Items)) })
}

func (c *call) listItems() {
	order, _ := queryValue(c.r.URL.RawQuery, "order")
	after, _ := queryValue(c.r.URL.RawQuery, "after")
	c.withConversation(func(conv *mockConversation) {
		items := slices.Clone(conv.items)
		if order != "asc" {
			slices.Reverse(items)
		}
		if after != "" {
			if i := slices.IndexFunc(items, func(it map[string]any) bool { return it["id"] == after }); i >= 0 {
				items = items[i+1:]
			}
		}
		c.itemList(items)
	})
}

func (c *call) itemAt(conv *mockConversation) int {
	i := slices.IndexFunc(conv.items, func(it map[string]any) bool { return it["id"] == c.route.sub })
	if i < 0 {
		c.notFound("item", c.route.sub)
	}
	return i
}

func (c *call) getItem() {
	c.withConversation(func(conv *mockConversation) {
		if i := c.itemAt(conv); i >= 0 {
			c.writeObject(conv.items[i])
		}
	})
}

func (c *call) deleteItem() {
	c.withConversation(func(conv *mockConversation) {
		if i := c.itemAt(conv); i >= 0 {
			conv.items = slices.Delete(conv.items, i, i+1)
			c.writeObject(*conv)
		}
	})
}

// conversationOf reads a Responses request's conversation: an id, or an
// object with one.
func conversationOf(raw json.RawMessage) string {
	var id string
	if json.Unmarshal(raw, &id) == nil {
		return id
	}
	var o struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &o)
	return o.ID
}

// recordTurn adds a response's input and answer to its conversation.
func (c *call) recordTurn(id string, input []respItem, st *respState) {
	var text []string
	for _, it := range input {
		if it.kind == "message" && it.role == "user" {
			text = append(text, it.text)
		}
	}
	items := []map[string]any{{"type": "message", "role": "user", "content": strings.Join(text, "\n")}}
	for _, o := range st.output {
		if o.kind == itemMessage {
			items = append(items, map[string]any{"id": o.id, "type": "message", "role": "assistant", "content": o.text})
		}
	}
	c.s.conversations.with(id, func(conv *mockConversation) { c.addItems(conv, items) })
}
