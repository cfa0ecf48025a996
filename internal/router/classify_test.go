package router

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/provider"
)

// Real upstream error bodies, from /work/shared/fixtures/upstream-errors.md
// (verbatim, "…" included) and from public bug reports.
const (
	classifyAzure429 = `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-05-01-preview have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."}}`

	classifyAzure429Daily = `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-05-01-preview have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 86400 seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."}}`

	classifyAzure429NewWording = `Your requests to gpt-4.1-nano for gpt-4.1-nano in Sweden Central have exceeded the token rate limit for your current AIServices S0 pricing tier. This request was for ChatCompletions_Create under Azure OpenAI API version 2023-05-15. Please retry after 45 seconds.`

	classifyAzure404Deployment = `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}`

	classifyAzure401 = `{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}`

	classifyAzureContentFilter = `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy. …","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"}}}}}`

	classifyOpenAI429Tokens = `{"error":{"message":"Rate limit reached for gpt-4o in organization org-… on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000. Please try again in 2s. Visit https://platform.openai.com/account/rate-limits to learn more.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`

	classifyOpenAI429TooLarge = `{"error":{"message":"Request too large for gpt-4o in organization org-… on tokens per min (TPM): Limit 30000, Requested 30601. The input or output tokens must be reduced in order to run successfully. …","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`

	classifyOpenAIQuota = `{"error":{"message":"You exceeded your current quota, please check your plan and billing details. …","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`

	classifyOpenAIContext = `{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`

	classifyOpenAIServerError = `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`

	// Beyond the fixtures file.
	classifyOpenAI429Requests = `{"error":{"message":"Rate limit reached for gpt-4o in organization org-… on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms. Visit https://platform.openai.com/account/rate-limits to learn more.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`

	classifyOpenAI401 = `{"error":{"message":"Incorrect API key provided: sk-proj-********************************************Zx9Q. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`

	classifyOpenAIModelNotFound = `{"error":{"message":"The model ` + "`gpt-5-typo`" + ` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}`

	classifyOpenAIFileNotFound = `{"error":{"message":"No such File object: file-abc123","type":"invalid_request_error","param":"id","code":null}}`

	classifyAzure404Resource = `{"error":{"code":"404","message": "Resource not found"}}`

	classifyAzureAPIM429 = `{ "statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds." }`

	classifyAzureAPIM401 = `{ "statusCode": 401, "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription." }`

	classifyAzureInvalidRequest = `{"error":{"code":"BadRequest","message":"Invalid value for 'temperature': expected a number between 0 and 2.","param":"temperature","type":"invalid_request_error"}}`

	// Azure AI Search and Azure DALL-E 2 (the async images API).
	classifySearchIndexMissing = `{"error":{"code":"","message":"The index 'hotels' for service 'contoso-search' was not found."}}`

	classifySearchBadQuery = `{"error":{"code":"","message":"Invalid expression: Syntax error at position 7 in 'rating gt'.\r\nParameter name: $filter"}}`

	classifyDallE2Filtered = `{"error":{"code":"contentFilter","message":"Your task failed as a result of our safety system."}}`

	classifyOperationMissing = `{"error":{"code":"NotFound","message":"The operation '2cf3c8a4-2d19-4f5a-8b9e-6a7d3c1e0f42' was not found on this resource."}}`

	classifyAzureCallVolumeQuota = `{"error":{"code":"403","message":"Out of call volume quota for OpenAI S0 pricing tier. Please retry after 2 days. To increase your limits please upgrade to a paid tier."}}`

	classifyNginx502 = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

	classifyNginx404 = "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

func TestClassifyResponse(t *testing.T) {
	h := retryAfterTestHeader
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   Outcome
	}{
		{"200", 200, nil, "", Outcome{Verdict: Success, Reason: "upstream 200"}},
		{"201", 201, nil, "", Outcome{Verdict: Success, Reason: "upstream 201"}},

		// 429: throttles.
		{
			"azure 429 retry-after-ms beats retry-after", 429,
			h("Retry-After", "6", "Retry-After-Ms", "5520", "X-Ratelimit-Remaining-Requests", "0", "X-Ratelimit-Remaining-Tokens", "0"),
			classifyAzure429,
			Outcome{Verdict: RateLimited, Cooldown: 5520 * time.Millisecond, Reason: "429 retry-after 5.52s", Code: "429"},
		},
		{
			"azure 429 retry-after only", 429, h("Retry-After", "6"), classifyAzure429,
			Outcome{Verdict: RateLimited, Cooldown: 6 * time.Second, Reason: "429 retry-after 6s", Code: "429"},
		},
		{
			"azure 429 no headers: message", 429, nil, classifyAzure429,
			Outcome{Verdict: RateLimited, Cooldown: 6 * time.Second, Reason: "429 retry-after 6s", Code: "429"},
		},
		{
			"azure 429 daily quota is honoured", 429, h("Retry-After", "86400"), classifyAzure429Daily,
			Outcome{Verdict: RateLimited, Cooldown: 24 * time.Hour, Reason: "429 retry-after 24h0m0s", Code: "429"},
		},
		{
			"azure 429 daily quota from the message", 429, nil, classifyAzure429Daily,
			Outcome{Verdict: RateLimited, Cooldown: 24 * time.Hour, Reason: "429 retry-after 24h0m0s", Code: "429"},
		},
		{
			"azure 429 newer wording as text", 429, nil, classifyAzure429NewWording,
			Outcome{Verdict: RateLimited, Cooldown: 45 * time.Second, Reason: "429 retry-after 45s"},
		},
		{
			"azure 429 newer wording in JSON", 429, nil, `{"error":{"code":"429","message":"` + classifyAzure429NewWording + `"}}`,
			Outcome{Verdict: RateLimited, Cooldown: 45 * time.Second, Reason: "429 retry-after 45s", Code: "429"},
		},
		{
			"azure API management 429", 429, nil, classifyAzureAPIM429,
			Outcome{Verdict: RateLimited, Cooldown: time.Second, Reason: "429 retry-after 1s"},
		},
		{
			// The message's "try again in 2s" beats reset-tokens: 6m0s is when
			// the bucket is full again, not when the next request fits.
			"openai 429 tokens: message beats reset-tokens", 429,
			h("X-Ratelimit-Reset-Requests", "1s", "X-Ratelimit-Reset-Tokens", "6m0s", "X-Ratelimit-Remaining-Tokens", "0"),
			classifyOpenAI429Tokens,
			Outcome{Verdict: RateLimited, Cooldown: 2 * time.Second, Reason: "429 retry-after 2s", Code: "rate_limit_exceeded"},
		},
		{
			"openai 429 requests: message beats reset headers", 429,
			h("X-Ratelimit-Reset-Requests", "1s", "X-Ratelimit-Reset-Tokens", "6m0s"),
			classifyOpenAI429Requests,
			Outcome{Verdict: RateLimited, Cooldown: 120 * time.Millisecond, Reason: "429 retry-after 120ms", Code: "rate_limit_exceeded"},
		},
		{
			"openai 429 without a wait in the message takes reset-requests", 429,
			h("X-Ratelimit-Reset-Requests", "1s", "X-Ratelimit-Reset-Tokens", "6m0s"),
			`{"error":{"message":"Rate limit reached for gpt-4o on requests per min (RPM): Limit 500, Used 500.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			Outcome{Verdict: RateLimited, Cooldown: time.Second, Reason: "429 retry-after 1s", Code: "rate_limit_exceeded"},
		},
		{
			"openai 429 no headers: message", 429, nil, classifyOpenAI429Tokens,
			Outcome{Verdict: RateLimited, Cooldown: 2 * time.Second, Reason: "429 retry-after 2s", Code: "rate_limit_exceeded"},
		},
		{
			"openai 429 requests no headers: message ms", 429, nil, classifyOpenAI429Requests,
			Outcome{Verdict: RateLimited, Cooldown: 120 * time.Millisecond, Reason: "429 retry-after 120ms", Code: "rate_limit_exceeded"},
		},
		{
			"429 no hint at all: default cooldown", 429, nil, `{"error":{"code":"rate_limit_exceeded","message":"Too many requests"}}`,
			Outcome{Verdict: RateLimited, Reason: "429 rate limited", Code: "rate_limit_exceeded"},
		},
		{
			"429 empty body", 429, h("Retry-After", "3"), "",
			Outcome{Verdict: RateLimited, Cooldown: 3 * time.Second, Reason: "429 retry-after 3s"},
		},
		{
			"429 html body", 429, nil, "<html><body>Too Many Requests</body></html>",
			Outcome{Verdict: RateLimited, Reason: "429 rate limited"},
		},

		// 429: not throttles.
		{
			"openai 429 request too large", 429,
			h("X-Ratelimit-Reset-Requests", "1s", "X-Ratelimit-Reset-Tokens", "6m0s"),
			classifyOpenAI429TooLarge,
			Outcome{Verdict: TooLarge, Reason: "429 request too large for this deployment", Code: "rate_limit_exceeded"},
		},
		{
			"openai 429 insufficient_quota", 429, nil, classifyOpenAIQuota,
			Outcome{Verdict: QuotaExhausted, Cooldown: QuotaCooldown, Reason: "429 quota exhausted, retry-after 1h0m0s", Code: "insufficient_quota"},
		},
		{
			"insufficient_quota ignores rate-limit window resets", 429,
			h("X-Ratelimit-Reset-Requests", "1s", "X-Ratelimit-Reset-Tokens", "6m0s"),
			classifyOpenAIQuota,
			Outcome{Verdict: QuotaExhausted, Cooldown: QuotaCooldown, Reason: "429 quota exhausted, retry-after 1h0m0s", Code: "insufficient_quota"},
		},
		{
			"insufficient_quota with explicit retry-after", 429, h("Retry-After", "7200"), classifyOpenAIQuota,
			Outcome{Verdict: QuotaExhausted, Cooldown: 2 * time.Hour, Reason: "429 quota exhausted, retry-after 2h0m0s", Code: "insufficient_quota"},
		},
		{
			"insufficient_quota in a cut body", 429, nil, classifyOpenAIQuota[:60],
			Outcome{Verdict: QuotaExhausted, Cooldown: QuotaCooldown, Reason: "429 quota exhausted, retry-after 1h0m0s"},
		},

		// 401/403.
		{
			"azure 401", 401, nil, classifyAzure401,
			Outcome{Verdict: AuthFailed, Reason: "upstream 401: invalid key", Code: "401"},
		},
		{
			"azure API management 401", 401, nil, classifyAzureAPIM401,
			Outcome{Verdict: AuthFailed, Reason: "upstream 401: invalid key"},
		},
		{
			"openai 401 echoes part of the key", 401, nil, classifyOpenAI401,
			Outcome{Verdict: AuthFailed, Reason: "upstream 401: invalid_api_key", Code: "invalid_api_key"},
		},
		{
			"401 empty body", 401, nil, "",
			Outcome{Verdict: AuthFailed, Reason: "upstream 401: invalid key"},
		},
		{
			"403 firewall", 403, nil, `{"error":{"code":"403","message":"Access denied due to Virtual Network/Firewall rules."}}`,
			Outcome{Verdict: AuthFailed, Reason: "upstream 403: forbidden", Code: "403"},
		},
		{
			"403 unsupported region", 403, nil, `{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}}`,
			Outcome{Verdict: AuthFailed, Reason: "upstream 403: unsupported_country_region_territory", Code: "unsupported_country_region_territory"},
		},

		{
			"azure out of call volume quota", 403, nil, classifyAzureCallVolumeQuota,
			Outcome{Verdict: QuotaExhausted, Cooldown: MaxRetryAfter, Reason: "upstream 403: quota exhausted, retry-after 24h1m0s", Code: "403"},
		},

		// 404.
		{
			"azure DeploymentNotFound", 404, nil, classifyAzure404Deployment,
			Outcome{Verdict: DeploymentGone, Cooldown: MisconfiguredCooldown, Reason: "upstream 404: DeploymentNotFound", Code: "DeploymentNotFound"},
		},
		{
			"openai model_not_found", 404, nil, classifyOpenAIModelNotFound,
			Outcome{Verdict: DeploymentGone, Cooldown: MisconfiguredCooldown, Reason: "upstream 404: model_not_found", Code: "model_not_found"},
		},
		{
			"azure resource not found (wrong api-version or path)", 404, nil, classifyAzure404Resource,
			Outcome{Verdict: DeploymentGone, Cooldown: MisconfiguredCooldown, Reason: "upstream 404: deployment not found", Code: "404"},
		},
		{
			"404 deployment message without code", 404, nil, `{"error":{"message":"The API deployment for this resource does not exist."}}`,
			Outcome{Verdict: DeploymentGone, Cooldown: MisconfiguredCooldown, Reason: "upstream 404: deployment not found"},
		},
		{
			"404 html from a reverse proxy", 404, nil, classifyNginx404,
			Outcome{Verdict: DeploymentGone, Cooldown: MisconfiguredCooldown, Reason: "upstream 404: not an API error, check the api base"},
		},
		{
			"404 empty body", 404, nil, "",
			Outcome{Verdict: DeploymentGone, Cooldown: MisconfiguredCooldown, Reason: "upstream 404: not an API error, check the api base"},
		},
		{
			"404 foreign JSON", 404, nil, `{"detail":"Not Found"}`,
			Outcome{Verdict: DeploymentGone, Cooldown: MisconfiguredCooldown, Reason: "upstream 404: not an API error, check the api base"},
		},
		{
			"ai search index missing", 404, nil, classifySearchIndexMissing,
			Outcome{Verdict: DeploymentGone, Cooldown: MisconfiguredCooldown, Reason: "upstream 404: deployment not found"},
		},
		{
			"dall-e 2 poll of a job this resource never took", 404, nil, classifyOperationMissing,
			Outcome{Verdict: CallerError, Reason: "upstream 404: NotFound", Code: "NotFound"},
		},
		{
			"404 of a file the caller named", 404, nil, classifyOpenAIFileNotFound,
			Outcome{Verdict: CallerError, Reason: "upstream 404: invalid_request_error"},
		},

		// 400 and other caller errors.
		{
			"azure content filter", 400, nil, classifyAzureContentFilter,
			Outcome{Verdict: CallerError, Reason: "upstream 400: content_filter", Code: "content_filter"},
		},
		{
			"content filter known only by innererror", 400, nil, `{"error":{"message":"filtered","code":null,"innererror":{"code":"ResponsibleAIPolicyViolation"}}}`,
			Outcome{Verdict: CallerError, Reason: "upstream 400: ResponsibleAIPolicyViolation", Code: "ResponsibleAIPolicyViolation"},
		},
		{
			"openai context_length_exceeded", 400, nil, classifyOpenAIContext,
			Outcome{Verdict: ContextTooLong, Reason: "upstream 400: context length exceeded", Code: "context_length_exceeded"},
		},
		{
			"context length by message only", 400, nil, `{"error":{"message":"This model's maximum context length is 4097 tokens.","type":"invalid_request_error","code":null}}`,
			Outcome{Verdict: ContextTooLong, Reason: "upstream 400: context length exceeded"},
		},
		{
			"ai search bad query", 400, nil, classifySearchBadQuery,
			Outcome{Verdict: CallerError, Reason: "upstream 400"},
		},
		{
			"dall-e 2 safety system", 400, nil, classifyDallE2Filtered,
			Outcome{Verdict: CallerError, Reason: "upstream 400: contentFilter", Code: "contentFilter"},
		},
		{
			"azure invalid parameter", 400, nil, classifyAzureInvalidRequest,
			Outcome{Verdict: CallerError, Reason: "upstream 400: BadRequest", Code: "BadRequest"},
		},
		{
			"400 html", 400, nil, "<html><body>400 Bad Request</body></html>",
			Outcome{Verdict: CallerError, Reason: "upstream 400"},
		},
		{
			"413", 413, nil, "",
			Outcome{Verdict: CallerError, Reason: "upstream 413"},
		},
		{
			"422", 422, nil, `{"error":{"message":"bad","type":"invalid_request_error"}}`,
			Outcome{Verdict: CallerError, Reason: "upstream 422: invalid_request_error"},
		},

		// Odd shapes.
		{
			"error as a bare string", 429, nil, `{"error":"Rate limited. Please try again in 3s."}`,
			Outcome{Verdict: RateLimited, Cooldown: 3 * time.Second, Reason: "429 retry-after 3s"},
		},
		{
			"fields of unexpected types", 400, nil, `{"error":{"code":"context_length_exceeded","type":5,"message":["x"],"innererror":"y"}}`,
			Outcome{Verdict: ContextTooLong, Reason: "upstream 400: context length exceeded", Code: "context_length_exceeded"},
		},
		{
			"numeric code", 400, nil, `{"error":{"code":400,"message":"bad"}}`,
			Outcome{Verdict: CallerError, Reason: "upstream 400", Code: "400"},
		},
		{
			"escaped code", 400, nil, `{"error":{"code":"content\u005ffilter","message":"x"}}`,
			Outcome{Verdict: CallerError, Reason: "upstream 400: content_filter", Code: "content_filter"},
		},
		{
			"JSON array", 400, nil, `[{"error":{"code":"x"}}]`,
			Outcome{Verdict: CallerError, Reason: "upstream 400"},
		},

		// Transient.
		{"408", 408, nil, "", Outcome{Verdict: Transient, Reason: "upstream 408"}},
		{"409", 409, nil, `{"error":{"code":"conflict","message":"retry"}}`, Outcome{Verdict: Transient, Reason: "upstream 409: conflict", Code: "conflict"}},
		{"500 server_error", 500, nil, classifyOpenAIServerError, Outcome{Verdict: Transient, Reason: "upstream 500: server_error"}},
		{"503 server_error", 503, h("Retry-After", "10"), classifyOpenAIServerError, Outcome{Verdict: Transient, Reason: "upstream 503: server_error"}},
		{"502 html from a gateway", 502, nil, classifyNginx502, Outcome{Verdict: Transient, Reason: "upstream 502"}},
		{"503 empty body", 503, nil, "", Outcome{Verdict: Transient, Reason: "upstream 503"}},
		{"501", 501, nil, "", Outcome{Verdict: Transient, Reason: "upstream 501"}},
		{"504 truncated JSON", 504, nil, `{"error":{"message":"The ser`, Outcome{Verdict: Transient, Reason: "upstream 504"}},

		// Odd statuses.
		{
			"301 redirect", 301, h("Location", "https://example.openai.azure.com/"), "",
			Outcome{Verdict: DeploymentGone, Cooldown: MisconfiguredCooldown, Reason: "upstream 301: redirect, check the api base"},
		},
		{"status 0", 0, nil, "", Outcome{Verdict: Transient, Reason: "upstream sent invalid status 0"}},
		{"status 600", 600, nil, "", Outcome{Verdict: Transient, Reason: "upstream sent invalid status 600"}},
		{"status 103", 103, nil, "", Outcome{Verdict: Transient, Reason: "upstream 103"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			got := ClassifyResponse(tt.status, tt.header, body, retryAfterTestNow)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ClassifyResponse(%d) mismatch (-want +got):\n%s", tt.status, diff)
			}
		})
	}
}

// TestClassifyResponseReasonIsSafe checks that nothing from an upstream
// message, which can echo part of a key or of the prompt, reaches Reason or
// Code.
func TestClassifyResponseReasonIsSafe(t *testing.T) {
	tests := []struct {
		status int
		body   string
		secret string
	}{
		{401, classifyOpenAI401, "sk-proj"},
		{400, `{"error":{"message":"Invalid prompt: my password is hunter2","code":"invalid prompt hunter2"}}`, "hunter2"},
		{404, `{"error":{"message":"No such file: /secret/path?api-key=abc","code":"https://x/?api-key=abc"}}`, "api-key"},
		{500, `{"error":{"message":"key sk-live-123 failed","type":"sk-live-123 server error"}}`, "sk-live"},
		{429, `{"error":{"message":"Please retry after 6 seconds. your prompt was: tell me a secret","code":"429"}}`, "secret"},
	}
	for _, tt := range tests {
		got := ClassifyResponse(tt.status, nil, []byte(tt.body), retryAfterTestNow)
		if strings.Contains(got.Reason, tt.secret) || strings.Contains(got.Code, tt.secret) {
			t.Errorf("ClassifyResponse(%d, %q) = %+v; want no %q in Reason or Code", tt.status, tt.body, got, tt.secret)
		}
	}
}

// TestClassifyResponseLongBody checks that a body beyond what is looked at
// still classifies, by its text.
func TestClassifyResponseLongBody(t *testing.T) {
	body := `{"error":{"code":"insufficient_quota","message":"` + strings.Repeat("x", 3*classifyMaxBody) + `"}}`
	got := ClassifyResponse(429, nil, []byte(body), retryAfterTestNow)
	if got.Verdict != QuotaExhausted {
		t.Errorf("ClassifyResponse(429, %d-byte quota body).Verdict = %v, want %v", len(body), got.Verdict, QuotaExhausted)
	}
}

func TestVerdictString(t *testing.T) {
	want := map[Verdict]string{
		Success:        "success",
		CallerError:    "caller-error",
		RateLimited:    "rate-limited",
		TooLarge:       "too-large",
		QuotaExhausted: "quota-exhausted",
		AuthFailed:     "auth-failed",
		DeploymentGone: "deployment-gone",
		ContextTooLong: "context-too-long",
		Transient:      "transient",
		ClientGone:     "client-gone",
		Verdict(200):   "Verdict(200)",
	}
	for v, w := range want {
		if got := v.String(); got != w {
			t.Errorf("Verdict(%d).String() = %q, want %q", uint8(v), got, w)
		}
	}
}

func TestVerdictRetryable(t *testing.T) {
	want := map[Verdict]bool{
		Success:        false,
		CallerError:    false,
		RateLimited:    true,
		TooLarge:       true,
		QuotaExhausted: true,
		AuthFailed:     true,
		DeploymentGone: true,
		ContextTooLong: false,
		Transient:      true,
		ClientGone:     false,
		Verdict(200):   false,
	}
	for v, w := range want {
		if got := v.Retryable(); got != w {
			t.Errorf("%v.Retryable() = %v, want %v", v, got, w)
		}
	}
}

// classifyTestTransport returns a fresh transport whose idle connections are
// closed when the test ends.
func classifyTestTransport(t *testing.T) *http.Transport {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// classifyTestPost sends one POST through rt with ctx and returns the error.
func classifyTestPost(t *testing.T, ctx context.Context, rt http.RoundTripper, url string) error {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"model":"gpt-4o"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("POST %s: got a %d response, want an error", url, resp.StatusCode)
	}
	return err
}

// classifyTestRefusedURL returns the URL of a port on 127.0.0.1 that was just
// closed, so that dialling it is refused.
func classifyTestRefusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr + "/openai/deployments/gpt-4o/chat/completions?api-version=2024-05-01-preview&api-key=SECRET"
}

// classifyTestHijackServer serves every request with fn on the hijacked raw
// connection, after the request was read.
func classifyTestHijackServer(t *testing.T, fn func(c net.Conn, w *bufio.ReadWriter)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		fn(c, rw)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// classifyTestHangingServer never answers until the test ends or the client
// goes away. arrived receives once per request that reached the handler.
func classifyTestHangingServer(t *testing.T) (srv *httptest.Server, arrived <-chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	in := make(chan struct{}, 16)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case in <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close) // runs last: Close waits for the handlers
	t.Cleanup(func() { close(release) })
	return srv, in
}

// classifyTestCancelOnArrival cancels when a request reaches the server. The
// goroutine ends when the test does.
func classifyTestCancelOnArrival(t *testing.T, arrived <-chan struct{}, cancel func()) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-arrived:
			cancel()
		case <-done:
		}
	}()
	t.Cleanup(func() { close(done); wg.Wait() })
}

// classifyTestTimeoutError is a net.Error that timed out, as the poller's.
type classifyTestTimeoutError struct{}

func (classifyTestTimeoutError) Error() string   { return "i/o timeout" }
func (classifyTestTimeoutError) Timeout() bool   { return true }
func (classifyTestTimeoutError) Temporary() bool { return true }

func TestClassifyError(t *testing.T) {
	live := context.Background()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cancelledWithCause, cancelCause := context.WithCancelCause(context.Background())
	cancelCause(errors.New("client hung up"))

	tests := []struct {
		name string
		// run produces the client context and the error, usually by doing
		// the real thing.
		run  func(t *testing.T) (context.Context, error)
		want Outcome
	}{
		{
			"connection refused, RoundTrip",
			func(t *testing.T) (context.Context, error) {
				return live, classifyTestPost(t, live, classifyTestTransport(t), classifyTestRefusedURL(t))
			},
			Outcome{Verdict: Transient, Reason: "connection refused"},
		},
		{
			"connection refused, Client.Do *url.Error with a key in the URL",
			func(t *testing.T) (context.Context, error) {
				c := &http.Client{Transport: classifyTestTransport(t)}
				req, err := http.NewRequestWithContext(live, http.MethodPost, classifyTestRefusedURL(t), strings.NewReader("{}"))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := c.Do(req)
				if err == nil {
					resp.Body.Close()
					t.Fatal("Do: got a response, want an error")
				}
				var ue *url.Error
				if !errors.As(err, &ue) {
					t.Fatalf("Do: err = %T, want *url.Error", err)
				}
				return live, err
			},
			Outcome{Verdict: Transient, Reason: "connection refused"},
		},
		{
			"server closes before answering",
			func(t *testing.T) (context.Context, error) {
				srv := classifyTestHijackServer(t, func(c net.Conn, _ *bufio.ReadWriter) { c.Close() })
				return live, classifyTestPost(t, live, classifyTestTransport(t), srv.URL)
			},
			Outcome{Verdict: Transient, Reason: "connection closed (EOF)"},
		},
		{
			"server resets before answering",
			func(t *testing.T) (context.Context, error) {
				srv := classifyTestHijackServer(t, func(c net.Conn, _ *bufio.ReadWriter) {
					c.(*net.TCPConn).SetLinger(0) // close with RST
					c.Close()
				})
				return live, classifyTestPost(t, live, classifyTestTransport(t), srv.URL)
			},
			Outcome{Verdict: Transient, Reason: "connection reset"},
		},
		{
			"error body cut short",
			func(t *testing.T) (context.Context, error) {
				srv := classifyTestHijackServer(t, func(c net.Conn, w *bufio.ReadWriter) {
					w.WriteString("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"error\":{")
					w.Flush()
					c.Close()
				})
				req, err := http.NewRequestWithContext(live, http.MethodPost, srv.URL, strings.NewReader("{}"))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := classifyTestTransport(t).RoundTrip(req)
				if err != nil {
					t.Fatalf("RoundTrip: %v", err)
				}
				defer resp.Body.Close()
				_, err = io.ReadAll(resp.Body)
				if err == nil {
					t.Fatal("ReadAll: got the whole body, want an error")
				}
				return live, err
			},
			Outcome{Verdict: Transient, Reason: "unexpected EOF"},
		},
		{
			"no response headers within ResponseHeaderTimeout",
			func(t *testing.T) (context.Context, error) {
				srv, _ := classifyTestHangingServer(t)
				tr := classifyTestTransport(t)
				tr.ResponseHeaderTimeout = 10 * time.Millisecond
				return live, classifyTestPost(t, live, tr, srv.URL)
			},
			Outcome{Verdict: Transient, Reason: "timeout waiting for response headers"},
		},
		{
			"no response headers within Client.Timeout",
			func(t *testing.T) (context.Context, error) {
				srv, _ := classifyTestHangingServer(t)
				c := &http.Client{Transport: classifyTestTransport(t), Timeout: 10 * time.Millisecond}
				resp, err := c.Post(srv.URL, "application/json", strings.NewReader("{}"))
				if err == nil {
					resp.Body.Close()
					t.Fatal("Post: got a response, want an error")
				}
				return live, err
			},
			Outcome{Verdict: Transient, Reason: "timeout waiting for response headers"},
		},
		{
			"attempt deadline while the client waits",
			func(t *testing.T) (context.Context, error) {
				srv, _ := classifyTestHangingServer(t)
				attempt, cancel := context.WithTimeout(live, 10*time.Millisecond)
				defer cancel()
				err := classifyTestPost(t, attempt, classifyTestTransport(t), srv.URL)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("RoundTrip: err = %v, want context.DeadlineExceeded", err)
				}
				return live, err
			},
			Outcome{Verdict: Transient, Reason: "timeout"},
		},
		{
			"gateway request deadline on the client context",
			func(t *testing.T) (context.Context, error) {
				srv, _ := classifyTestHangingServer(t)
				client, cancel := context.WithTimeout(live, 10*time.Millisecond)
				t.Cleanup(cancel)
				attempt, cancelAttempt := context.WithCancel(client)
				defer cancelAttempt()
				return client, classifyTestPost(t, attempt, classifyTestTransport(t), srv.URL)
			},
			Outcome{Verdict: Transient, Reason: "timeout: request deadline exceeded"},
		},
		{
			"client cancels while waiting for headers",
			func(t *testing.T) (context.Context, error) {
				srv, arrived := classifyTestHangingServer(t)
				client, cancel := context.WithCancel(live)
				t.Cleanup(cancel)
				classifyTestCancelOnArrival(t, arrived, cancel)
				attempt, cancelAttempt := context.WithTimeout(client, time.Hour)
				defer cancelAttempt()
				return client, classifyTestPost(t, attempt, classifyTestTransport(t), srv.URL)
			},
			Outcome{Verdict: ClientGone, Reason: "client cancelled"},
		},
		{
			"attempt cancelled while the client is still there",
			func(t *testing.T) (context.Context, error) {
				srv, arrived := classifyTestHangingServer(t)
				attempt, cancel := context.WithCancel(live)
				t.Cleanup(cancel)
				classifyTestCancelOnArrival(t, arrived, cancel)
				return live, classifyTestPost(t, attempt, classifyTestTransport(t), srv.URL)
			},
			Outcome{Verdict: Transient, Reason: "attempt cancelled"},
		},
		{
			"tls: unknown certificate authority",
			func(t *testing.T) (context.Context, error) {
				srv := httptest.NewUnstartedServer(http.NotFoundHandler())
				srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake is the point
				srv.StartTLS()
				t.Cleanup(srv.Close)
				return live, classifyTestPost(t, live, classifyTestTransport(t), srv.URL)
			},
			Outcome{Verdict: Transient, Reason: "tls certificate error"},
		},
		{
			"tls: https to a plain http port",
			func(t *testing.T) (context.Context, error) {
				srv := httptest.NewServer(http.NotFoundHandler())
				t.Cleanup(srv.Close)
				return live, classifyTestPost(t, live, classifyTestTransport(t), "https://"+srv.Listener.Addr().String()+"/")
			},
			Outcome{Verdict: Transient, Reason: "tls handshake failed"},
		},
		{
			"tls handshake timeout",
			func(t *testing.T) (context.Context, error) {
				addr := classifyTestSilentListener(t)
				tr := classifyTestTransport(t)
				tr.TLSHandshakeTimeout = 10 * time.Millisecond
				tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
				return live, classifyTestPost(t, live, tr, "https://"+addr+"/")
			},
			Outcome{Verdict: Transient, Reason: "tls handshake timeout"},
		},
		{
			"read deadline on a real connection",
			func(t *testing.T) (context.Context, error) {
				c, err := net.Dial("tcp", classifyTestSilentListener(t))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetReadDeadline(time.Unix(1, 0)) // already past
				_, err = c.Read(make([]byte, 1))
				return live, err
			},
			Outcome{Verdict: Transient, Reason: "timeout reading response"},
		},

		// Wrapped and synthetic errors.
		{"wrapped ECONNREFUSED", classifyTestStatic(live, fmt.Errorf("attempt 2 on eastus: %w", syscall.ECONNREFUSED)), Outcome{Verdict: Transient, Reason: "connection refused"}},
		{
			"url.Error around ErrUnexpectedEOF",
			classifyTestStatic(live, &url.Error{Op: "Post", URL: "https://x.openai.azure.com/?api-key=SECRET", Err: io.ErrUnexpectedEOF}),
			Outcome{Verdict: Transient, Reason: "unexpected EOF"},
		},
		{
			"OpError around ECONNRESET",
			classifyTestStatic(live, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}),
			Outcome{Verdict: Transient, Reason: "connection reset"},
		},
		{
			"transport connection broken",
			classifyTestStatic(live, fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)})),
			Outcome{Verdict: Transient, Reason: "broken pipe"},
		},
		{"host unreachable", classifyTestStatic(live, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}), Outcome{Verdict: Transient, Reason: "host unreachable"}},
		{"network unreachable", classifyTestStatic(live, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}), Outcome{Verdict: Transient, Reason: "network unreachable"}},
		{"dial timeout", classifyTestStatic(live, &net.OpError{Op: "dial", Net: "tcp", Err: classifyTestTimeoutError{}}), Outcome{Verdict: Transient, Reason: "timeout connecting"}},
		{"ETIMEDOUT", classifyTestStatic(live, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ETIMEDOUT)}), Outcome{Verdict: Transient, Reason: "timeout reading response"}},
		{"dial error", classifyTestStatic(live, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("socket: too many open files")}), Outcome{Verdict: Transient, Reason: "connect error"}},
		{"dns not found", classifyTestStatic(live, &url.Error{Op: "Post", URL: "https://typo.openai.azure.com", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "typo.openai.azure.com", IsNotFound: true}}}), Outcome{Verdict: Transient, Reason: "dns: no such host"}},
		{"dns timeout", classifyTestStatic(live, &net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}), Outcome{Verdict: Transient, Reason: "dns: timeout"}},
		{"dns other", classifyTestStatic(live, &net.DNSError{Err: "server misbehaving", Name: "x"}), Outcome{Verdict: Transient, Reason: "dns lookup failed"}},
		{"bare DeadlineExceeded", classifyTestStatic(live, context.DeadlineExceeded), Outcome{Verdict: Transient, Reason: "timeout"}},
		{"io.EOF", classifyTestStatic(live, io.EOF), Outcome{Verdict: Transient, Reason: "connection closed (EOF)"}},
		{"unknown error is not echoed", classifyTestStatic(live, errors.New("GET https://x/?api-key=SECRET: boom")), Outcome{Verdict: Transient, Reason: "transport error"}},
		{"nil error", classifyTestStatic(live, nil), Outcome{Verdict: Transient, Reason: "unknown transport error"}},
		//lint:ignore SA1012 a nil context is the case under test
		{"nil client context", classifyTestStatic(nil, syscall.ECONNREFUSED), Outcome{Verdict: Transient, Reason: "connection refused"}},
		{"cancelled client wins over any error", classifyTestStatic(cancelled, syscall.ECONNREFUSED), Outcome{Verdict: ClientGone, Reason: "client cancelled"}},
		{"cancelled client with a cause", classifyTestStatic(cancelledWithCause, context.Canceled), Outcome{Verdict: ClientGone, Reason: "client cancelled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, err := tt.run(t)
			got := ClassifyError(ctx, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ClassifyError(%v) mismatch (-want +got):\n%s", err, diff)
			}
			if strings.Contains(got.Reason, "SECRET") || strings.Contains(got.Reason, "http") {
				t.Errorf("ClassifyError(%v).Reason = %q, want no URL in it", err, got.Reason)
			}
		})
	}
}

func classifyTestStatic(ctx context.Context, err error) func(*testing.T) (context.Context, error) {
	return func(*testing.T) (context.Context, error) { return ctx, err }
}

// classifyTestSilentListener accepts connections and never writes to them.
// Everything is closed, and the accept loop waited for, when the test ends.
func classifyTestSilentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// classifyTestValidVerdict reports whether v is one of the declared verdicts.
func classifyTestValidVerdict(v Verdict) bool {
	return !strings.HasPrefix(v.String(), "Verdict(")
}

func FuzzClassifyResponse(f *testing.F) {
	seeds := []struct {
		status int
		body   string
	}{
		{429, classifyAzure429}, {429, classifyAzure429Daily}, {429, classifyAzure429NewWording},
		{429, classifyOpenAI429Tokens}, {429, classifyOpenAI429TooLarge}, {429, classifyOpenAIQuota},
		{429, classifyAzureAPIM429}, {404, classifyAzure404Deployment}, {404, classifyOpenAIFileNotFound},
		{404, classifyNginx404}, {401, classifyAzure401}, {400, classifyAzureContentFilter},
		{400, classifyOpenAIContext}, {500, classifyOpenAIServerError}, {502, classifyNginx502},
		{503, ""}, {200, ""}, {301, ""}, {0, ""}, {-1, "{"}, {1 << 30, `{"error":"x"}`},
		{429, `{"error":{"code":1e999,"type":[1],"message":{"a":1},"innererror":"x"}}`},
		{429, `{"error":"Please try again in 6m0s"}`},
	}
	for _, s := range seeds {
		f.Add(s.status, []byte(s.body), "6", "5520", "1s", "6m0s")
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, ra, ms, resetReq, resetTok string) {
		h := http.Header{}
		h.Set("Retry-After", ra)
		h.Set("Retry-After-Ms", ms)
		h.Set("X-Ratelimit-Reset-Requests", resetReq)
		h.Set("X-Ratelimit-Reset-Tokens", resetTok)
		got := ClassifyResponse(status, h, body, retryAfterTestNow)

		if !classifyTestValidVerdict(got.Verdict) {
			t.Fatalf("Verdict = %d, not a declared verdict", got.Verdict)
		}
		if got.Cooldown < 0 || got.Cooldown > MaxRetryAfter {
			t.Errorf("Cooldown = %v, want within [0, %v]", got.Cooldown, MaxRetryAfter)
		}
		switch got.Verdict {
		case RateLimited, QuotaExhausted, AuthFailed, DeploymentGone:
		default:
			if got.Cooldown != 0 {
				t.Errorf("%v with Cooldown %v, want 0", got.Verdict, got.Cooldown)
			}
		}
		if got.Verdict == QuotaExhausted && got.Cooldown == 0 {
			t.Errorf("QuotaExhausted with Cooldown 0, want a long one")
		}
		var want Verdict
		switch {
		case status >= 200 && status <= 299:
			want = Success
		case status >= 500 && status <= 599, status == 408, status == 409:
			want = Transient
		case status == 401, status == 403:
			want = AuthFailed
		default:
			want = got.Verdict
		}
		if got.Verdict != want {
			t.Errorf("status %d: Verdict = %v, want %v", status, got.Verdict, want)
		}
		if got.Reason == "" || len(got.Reason) > 100 {
			t.Errorf("Reason = %q, want 1 to 100 bytes", got.Reason)
		}
		for i := 0; i < len(got.Reason); i++ {
			if c := got.Reason[i]; c < ' ' || c > '~' {
				t.Errorf("Reason = %q, want printable ASCII", got.Reason)
				break
			}
		}
		if got.Code != classifySafeToken(got.Code) {
			t.Errorf("Code = %q, want a short identifier", got.Code)
		}
	})
}

func BenchmarkClassifyResponse429(b *testing.B) {
	benchmarks := []struct {
		name   string
		header http.Header
		body   string
	}{
		{"azure", retryAfterTestHeader("Retry-After", "6", "Retry-After-Ms", "5520"), classifyAzure429},
		{"openai-tokens", retryAfterTestHeader("X-Ratelimit-Reset-Requests", "1s", "X-Ratelimit-Reset-Tokens", "6m0s"), classifyOpenAI429Tokens},
		{"azure-no-headers", nil, classifyAzure429},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			body := []byte(bm.body)
			b.ReportAllocs()
			for b.Loop() {
				ClassifyResponse(http.StatusTooManyRequests, bm.header, body, retryAfterTestNow)
			}
		})
	}
}

func BenchmarkClassifyError(b *testing.B) {
	err := &url.Error{Op: "Post", URL: "https://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ClassifyError(ctx, err)
	}
}

func ExampleClassifyResponse() {
	h := http.Header{}
	h.Set("Retry-After", "6")
	h.Set("Retry-After-Ms", "5520")
	body := []byte(`{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation ... Please retry after 6 seconds."}}`)

	o := ClassifyResponse(http.StatusTooManyRequests, h, body, time.Now())
	fmt.Println(o.Verdict, o.Cooldown, o.Verdict.Retryable())
	fmt.Println(o.Reason)
	// Output:
	// rate-limited 5.52s true
	// 429 retry-after 5.52s
}

func TestClassifyPrepareError(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	credErr := &provider.CredentialError{Deployment: "east", Reason: "authentication failed (HTTP 401, AADSTS7000215)", Err: errors.New("secret details")}
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want Outcome
	}{
		{"no entra token", context.Background(), fmt.Errorf("wrapped: %w", credErr),
			Outcome{Verdict: AuthFailed, Reason: "entra token: authentication failed (HTTP 401, AADSTS7000215)"}},
		{"unsupported operation", context.Background(), ErrUnsupported,
			Outcome{Verdict: Unsupported, Reason: "deployment does not serve this operation"}},
		{"client left while waiting for a token", cancelled, credErr,
			Outcome{Verdict: ClientGone, Reason: "client cancelled"}},
		{"anything else", context.Background(), errors.New("x"),
			Outcome{Verdict: Transient, Reason: "cannot prepare the upstream request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ClassifyPrepareError(tt.ctx, tt.err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ClassifyPrepareError (-want +got):\n%s", diff)
			}
			if got.Verdict == AuthFailed && !got.Verdict.Retryable() {
				t.Error("a deployment without a token must fail over")
			}
		})
	}
}
