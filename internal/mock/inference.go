package mock

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// Azure AI Inference (POST /models/chat/completions, /models/embeddings)
// answers like chat and embeddings, the model from the body or the
// azureml-model-deployment header. Unlike OpenAI it refuses parameters it
// does not know unless the extra-parameters header says "drop" or
// "pass-through".

// inferenceParams are the parameters the service knows, per operation.
var inferenceParams = map[endpoint][]string{
	epChat: {"messages", "model", "frequency_penalty", "presence_penalty", "temperature", "top_p", "max_tokens",
		"response_format", "stop", "stream", "stream_options", "tools", "tool_choice", "seed", "modalities"},
	epEmbeddings: {"input", "model", "dimensions", "encoding_format", "input_type"},
}

// checkExtraParameters enforces the extra-parameters header on the Azure
// AI Inference routes; elsewhere it accepts everything. On refusal it has
// written the 400.
func (c *call) checkExtraParameters() bool {
	if c.route.shape != shapeInference {
		return true
	}
	mode := c.r.Header.Get("Extra-Parameters")
	switch mode {
	case "drop", "pass-through":
		return true
	case "", "error":
	default:
		b := append([]byte(nil), `{"detail":`...)
		b = appendString(b, "Unexpected EXTRA_PARAMETERS option "+mode+", expected options are ['error', 'drop', 'pass-through']")
		writeJSON(c.w, http.StatusBadRequest, append(b, '}'))
		return false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(c.body, &fields) != nil {
		return true // readBody reports the bad JSON
	}
	var extra []string
	for k := range fields {
		if !slices.Contains(inferenceParams[c.route.ep], k) {
			extra = append(extra, "'"+k+"'")
		}
	}
	if len(extra) == 0 {
		return true
	}
	slices.Sort(extra)
	b := append([]byte(nil), `{"error":{"code":"Invalid input",`...)
	b = appendKV(b, "message", "Extra parameters ["+strings.Join(extra, ", ")+"] are not allowed when extra-parameters is not set or set to be 'error'. Set extra-parameters to 'pass-through' to pass to the model.")
	b = append(b, `,"status":400}}`...)
	writeJSON(c.w, http.StatusBadRequest, b)
	return false
}
