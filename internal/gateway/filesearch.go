package gateway

import (
	"bytes"
	"encoding/json"
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
