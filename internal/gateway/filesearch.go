package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/config"
)

// A Responses request whose file_search tool names vector stores can only
// be answered by the deployment holding them: it is sent there (when that
// deployment serves the request's model), with the upstream's ids in
// place of the gateway's.

var vectorStoreIDsKey = []byte(`"vector_store_ids"`)

// resolveVectorStores routes a Responses request by its file_search
// vector stores, when it names any.
func (g *Gateway) resolveVectorStores(req *exchange) error {
	if !bytes.Contains(req.body, vectorStoreIDsKey) {
		return nil
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(req.body, &body) != nil {
		return nil
	}
	var tools []map[string]json.RawMessage
	if json.Unmarshal(body["tools"], &tools) != nil {
		return nil
	}
	holder, changed := "", false
	for _, tool := range tools {
		var kind string
		_ = json.Unmarshal(tool["type"], &kind)
		if kind != "file_search" {
			continue
		}
		var ids []string
		if json.Unmarshal(tool["vector_store_ids"], &ids) != nil {
			return errBadRequest("tools", "invalid_type", "a file_search tool's vector_store_ids must be an array of ids")
		}
		for i, id := range ids {
			ref, ok := g.decodeObject(id, ownerOf(req.principal))
			if !ok {
				return errObjectNotFound("Vector store", id, "tools")
			}
			switch {
			case holder == "":
				holder = ref.deployment
			case ref.deployment != holder:
				return errBadRequest("tools", "vector_stores_on_several_deployments", "the vector stores of one request must be on one deployment: %s is on %s, another on %s", id, ref.deployment, holder)
			}
			ids[i] = ref.upstream
		}
		tool["vector_store_ids"], _ = json.Marshal(ids)
		changed = true
	}
	if !changed || holder == "" {
		return nil
	}
	if err := g.stickTo(req, holder, "the vector stores in tools", "tools", "vector_store"); err != nil {
		return err
	}
	body["tools"], _ = json.Marshal(tools)
	return req.setBody(body)
}

// stickTo sends a Responses request to holder, the deployment that holds
// what the request names (what, in param), when holder serves the
// request's model and nothing else already binds it elsewhere.
func (g *Gateway) stickTo(req *exchange, holder, what, param, code string) error {
	if _, ok := g.router.Deployment(holder); !ok {
		return &apierror.Error{Status: http.StatusNotFound, Type: apierror.TypeInvalidRequest, Param: param, Code: "object_deployment_gone",
			Message: what + " were stored on deployment " + holder + ", which no longer exists; they cannot be reached"}
	}
	pool, err := g.router.Pool(req.model, config.ClassChat)
	if err != nil {
		return routerError(err)
	}
	var serves []string
	found := false
	for _, d := range pool.Deployments() {
		serves = append(serves, d.Config.ID)
		found = found || d.Config.ID == holder
	}
	if !found {
		return &apierror.Error{Status: http.StatusBadRequest, Type: apierror.TypeInvalidRequest, Param: param, Code: code + "_not_in_pool",
			Message: what + " are held by deployment " + holder + ", which does not serve model " + req.model + " (its deployments: " + strings.Join(serves, ", ") + "); use a model that deployment serves"}
	}
	if req.sticky != "" && req.sticky != holder {
		return errBadRequest(param, code+"_elsewhere", "%s are held by deployment %s, but the request is bound to %s by another object it names; one request reaches one deployment", what, holder, req.sticky)
	}
	req.sticky = holder
	return nil
}

// setBody replaces a Responses request's body by body, re-peeked.
func (req *exchange) setBody(body map[string]json.RawMessage) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req.body = b
	req.peek, err = peekCap(b, true)
	return err
}

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
