package gateway

import (
	"bytes"
	"encoding/json"
)

// A Responses request that names a conversation continues it on the
// deployment that holds it: the conversation's items are there and
// nowhere else. Like a previous_response_id, the id is checked for the
// caller and replaced by the upstream's; an answer names it back by the
// gateway's id.

var conversationKey = []byte(`"conversation"`)

// resolveConversation sends a Responses request that names a
// conversation to the deployment holding it, with the upstream's id.
func (g *Gateway) resolveConversation(req *exchange) error {
	if !bytes.Contains(req.body, conversationKey) {
		return nil
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(req.body, &body) != nil {
		return nil
	}
	raw, ok := body["conversation"]
	if !ok || string(raw) == "null" {
		return nil
	}
	var id string
	object := json.Unmarshal(raw, &id) != nil
	var obj map[string]json.RawMessage
	if object {
		if json.Unmarshal(raw, &obj) != nil || json.Unmarshal(obj["id"], &id) != nil {
			return errBadRequest("conversation", "invalid_type", "conversation must be a conversation id or an object with one")
		}
	}
	ref, ok := g.decodeObject(id, ownerOf(req.principal))
	if !ok {
		return errObjectNotFound("Conversation", id, "conversation")
	}
	if err := g.stickTo(req, ref.deployment, "the conversation's items", "conversation", "conversation"); err != nil {
		return err
	}
	up, _ := json.Marshal(ref.upstream)
	if object {
		obj["id"] = up
		up, _ = json.Marshal(obj)
	}
	body["conversation"] = up
	req.conv = ref
	return req.setBody(body)
}
