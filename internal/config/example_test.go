package config_test

import (
	"errors"
	"fmt"

	"github.com/spillwayhq/spillway/internal/config"
)

func ExampleConfig_Validate() {
	cfg, err := config.Parse([]byte(`
routing:
  cooldown: 30 seconds
deployments:
  - model: gpt-4o
    class: chat
    resource_name: eastus
    api_key: os.environ/AZURE_KEY_EASTUS
`), func(string) (string, bool) { return "", false })
	if err != nil {
		fmt.Println(err)
		return
	}
	err = cfg.Validate()
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		fmt.Println(e)
	}
	var fe *config.FieldError
	fmt.Println(errors.As(err, &fe), fe.Path)
	// Output:
	// routing.cooldown: invalid duration "30 seconds"; use a Go duration such as 30s or a number of seconds
	// deployments[0].api_key: environment variable AZURE_KEY_EASTUS is not set
	// deployments[0].class: unknown class "chat"; use one of openai-chat, openai-completions, openai-embeddings, openai-images, azure-ai-search, openai-audio, openai-moderations, openai-realtime
	// true routing.cooldown
}

func ExampleDeployment_BaseURL() {
	for _, d := range []config.Deployment{
		{Provider: config.ProviderAzure, ResourceName: "eastus"},
		{Provider: config.ProviderOpenAI},
		{Provider: config.ProviderOpenAICompatible, Endpoint: "http://127.0.0.1:8000/v1/"},
	} {
		fmt.Println(d.BaseURL())
	}
	// Output:
	// https://eastus.openai.azure.com
	// https://api.openai.com/v1
	// http://127.0.0.1:8000/v1
}
