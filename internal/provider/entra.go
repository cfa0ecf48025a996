package provider

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/spillwayhq/spillway/internal/config"
)

// Default token scopes of auth: entra.
const (
	ScopeCognitiveServices = "https://cognitiveservices.azure.com/.default"
	ScopeSearch            = "https://search.azure.com/.default"
)

const (
	// refreshBefore is how long before expiry a token is renewed (or at half
	// its lifetime, if that is sooner), in the background: a request never
	// waits for a renewal while the current token is good.
	refreshBefore = 5 * time.Minute
	// expiryMargin is how close to its expiry a token is no longer handed
	// out: it could expire on its way to the upstream.
	expiryMargin = 30 * time.Second
	// failureBackoff is how long after a failed fetch requests get that
	// failure at once rather than another call to the token endpoint.
	failureBackoff = 10 * time.Second
	// minRefreshInterval spaces background renewals: azidentity may hand
	// back its own cached token, still inside our renewal window.
	minRefreshInterval = 30 * time.Second
	// fetchTimeout bounds one token request.
	fetchTimeout = 30 * time.Second
	// DefaultTokenCheck is how often Run looks for tokens due for renewal.
	DefaultTokenCheck = 30 * time.Second
)

// EntraOptions configure EntraTokens.
type EntraOptions struct {
	// Now is the clock; tests inject one. Default time.Now.
	Now func() time.Time
	// Transport sends token requests: azidentity's HTTP seam, for tests
	// and proxies. Default azcore's.
	Transport policy.Transporter
	// Logger gets a line per failed token request. Default slog.Default().
	Logger *slog.Logger
	// Retry tunes azidentity's retries of a token request. Default azcore's
	// (3 retries with backoff); tests turn them off with MaxRetries -1.
	Retry policy.RetryOptions
}

// EntraTokens gets, caches and renews the Entra ID tokens of the
// deployments with auth: entra, one TokenSource per deployment. A source
// survives config reloads while its deployment's settings do not change.
// It owns the goroutines that fetch tokens: Close stops them and waits.
type EntraTokens struct {
	now       func() time.Time
	transport policy.Transporter
	retry     policy.RetryOptions
	log       *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	sources map[string]*tokenSource // by deployment id
	// newCredential builds a credential; tests replace it.
	newCredential func(config.Entra, azcore.ClientOptions) (azcore.TokenCredential, error)
}

// NewEntraTokens returns an empty set of token sources.
func NewEntraTokens(o EntraOptions) *EntraTokens {
	e := &EntraTokens{now: o.Now, transport: o.Transport, retry: o.Retry, log: o.Logger, sources: map[string]*tokenSource{}, newCredential: newCredential}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e
}

// Source returns the token source of d, a deployment with auth: entra,
// creating its credential on first use. A credential that cannot be set up
// (workload identity without its environment, say) gives a source that
// fails every request with the reason, so the deployment is shown cooling
// down with it rather than the whole gateway failing to start.
func (e *EntraTokens) Source(d config.Deployment) TokenSource {
	ec := config.Entra{Mode: config.EntraDefault}
	if d.Entra != nil {
		ec = *d.Entra
	}
	scope := ec.Scope
	if scope == "" {
		scope = ScopeCognitiveServices
		if d.Provider == config.ProviderAzureSearch {
			scope = ScopeSearch
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.sources[d.ID]; ok && s.settings == ec && s.scope == scope {
		return s
	}
	co := azcore.ClientOptions{Transport: e.transport, Retry: e.retry}
	cred, err := e.newCredential(ec, co)
	if err != nil {
		e.log.Error("cannot set up the Entra ID credential of a deployment", "deployment", d.ID, "mode", ec.Mode, "err", err)
		return failedSource{&CredentialError{Deployment: d.ID, Reason: ec.Mode + ": cannot set up the credential (see the log)", Err: err}}
	}
	s := &tokenSource{owner: e, id: d.ID, scope: scope, settings: ec, cred: cred}
	e.sources[d.ID] = s
	return s
}

// failedSource is the source of a credential that could not be set up.
type failedSource struct{ err *CredentialError }

func (f failedSource) Token(context.Context) (string, error) { return "", f.err }

// newCredential builds the azidentity credential of a mode. A custom
// authority host means a sovereign or private cloud, where instance
// discovery against the public cloud makes no sense.
func newCredential(e config.Entra, co azcore.ClientOptions) (azcore.TokenCredential, error) {
	custom := e.AuthorityHost != ""
	if custom {
		co.Cloud.ActiveDirectoryAuthorityHost = e.AuthorityHost
	}
	switch e.Mode {
	case config.EntraManagedIdentity:
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: co}
		if e.ClientID != "" {
			o.ID = azidentity.ClientID(e.ClientID)
		}
		return azidentity.NewManagedIdentityCredential(o)
	case config.EntraWorkloadIdentity:
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: co, ClientID: e.ClientID, TenantID: e.TenantID, DisableInstanceDiscovery: custom})
	case config.EntraClientSecret:
		return azidentity.NewClientSecretCredential(e.TenantID, e.ClientID, e.ClientSecret.Value(),
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: custom})
	default:
		return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
			ClientOptions: co, TenantID: e.TenantID, DisableInstanceDiscovery: custom})
	}
}

// Run renews tokens due for renewal every interval until ctx is done, so
// that deployments with little traffic have a fresh token too.
func (e *EntraTokens) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultTokenCheck
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.refreshDue()
		}
	}
}

// refreshDue starts a renewal of every cached token past its renewal time.
func (e *EntraTokens) refreshDue() {
	e.mu.Lock()
	list := slices.Collect(maps.Values(e.sources))
	e.mu.Unlock()
	now := e.now()
	for _, s := range list {
		if t := s.cur.Load(); t != nil && !now.Before(t.refreshAt) {
			s.refresh(now, false)
		}
	}
}

// Close cancels token requests under way and waits for them.
func (e *EntraTokens) Close() {
	e.cancel()
	e.wg.Wait()
}

// token is a cached access token.
type token struct {
	value     string
	expires   time.Time
	refreshAt time.Time
}

func (t *token) usable(now time.Time) bool { return now.Before(t.expires.Add(-expiryMargin)) }

func newToken(at azcore.AccessToken, now time.Time) *token {
	lifetime := at.ExpiresOn.Sub(now)
	t := &token{value: at.Token, expires: at.ExpiresOn, refreshAt: at.ExpiresOn.Add(-min(refreshBefore, lifetime/2))}
	if !at.RefreshOn.IsZero() && at.RefreshOn.Before(t.refreshAt) {
		t.refreshAt = at.RefreshOn
	}
	return t
}

// tokenSource is one deployment's token: read without a lock, renewed by
// one fetch at a time.
type tokenSource struct {
	owner    *EntraTokens
	id       string
	scope    string
	settings config.Entra
	cred     azcore.TokenCredential
	cur      atomic.Pointer[token]

	mu        sync.Mutex
	fetching  chan struct{} // closed when the fetch under way ends; nil when none
	attempted time.Time     // start of the last fetch
	failedAt  time.Time     // end of the last fetch, if it failed
	lastErr   *CredentialError
}

// Token returns the cached token, starting a background renewal when it is
// due. Without a usable token it waits for a fetch: one for all waiting
// requests, which a request that leaves does not cancel for the others.
func (s *tokenSource) Token(ctx context.Context) (string, error) {
	now := s.owner.now()
	if t := s.cur.Load(); t != nil && t.usable(now) {
		if !now.Before(t.refreshAt) {
			s.refresh(now, false)
		}
		return t.value, nil
	}
	done, err := s.refresh(now, true)
	if err != nil {
		return "", err
	}
	select {
	case <-done:
	case <-ctx.Done():
		return "", &CredentialError{Deployment: s.id, Reason: "cancelled while waiting for a token", Err: ctx.Err()}
	}
	if t := s.cur.Load(); t != nil && t.usable(s.owner.now()) {
		return t.value, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastErr != nil {
		return "", s.lastErr
	}
	return "", &CredentialError{Deployment: s.id, Reason: s.settings.Mode + ": the token endpoint gave an expired token"}
}

// refresh starts a fetch unless one is under way (whose channel it
// returns) or spacing rules say not yet. A caller that must wait (wait)
// gets the last failure at once while failureBackoff runs.
func (s *tokenSource) refresh(now time.Time, wait bool) (<-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fetching != nil {
		return s.fetching, nil
	}
	if !s.failedAt.IsZero() && now.Sub(s.failedAt) < failureBackoff {
		if wait {
			return nil, s.lastErr
		}
		return nil, nil
	}
	if !wait && !s.attempted.IsZero() && now.Sub(s.attempted) < minRefreshInterval {
		return nil, nil
	}
	if s.owner.ctx.Err() != nil {
		return nil, &CredentialError{Deployment: s.id, Reason: "shutting down", Err: s.owner.ctx.Err()}
	}
	ch := make(chan struct{})
	s.fetching, s.attempted = ch, now
	s.owner.wg.Add(1)
	go s.fetch(ch)
	return ch, nil
}

func (s *tokenSource) fetch(done chan struct{}) {
	defer s.owner.wg.Done()
	ctx, cancel := context.WithTimeout(s.owner.ctx, fetchTimeout)
	defer cancel()
	at, err := s.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.scope}})
	now := s.owner.now()
	s.mu.Lock()
	if err != nil {
		s.failedAt = now
		s.lastErr = &CredentialError{Deployment: s.id, Reason: s.settings.Mode + ": " + credentialReason(err), Err: err}
		s.owner.log.Warn("no Entra ID token for a deployment", "deployment", s.id, "reason", s.lastErr.Reason, "err", err)
	} else {
		s.failedAt, s.lastErr = time.Time{}, nil
		s.cur.Store(newToken(at, now))
	}
	s.fetching = nil
	s.mu.Unlock()
	close(done)
}

var aadstsCode = regexp.MustCompile(`AADSTS\d{4,8}`)

// credentialReason names a token failure in a few safe words: fixed
// phrases, the token endpoint's HTTP status and Entra's AADSTS code, never
// the endpoint's message.
func credentialReason(err error) string {
	var af *azidentity.AuthenticationFailedError
	var netErr *net.OpError
	switch {
	case errors.As(err, &af) && af.RawResponse == nil && unreachable(err.Error()) != "":
		// MSAL flattens transport errors into its message.
		return unreachable(err.Error())
	case errors.As(err, &af):
		r := "authentication failed"
		var details []string
		if af.RawResponse != nil {
			details = append(details, "HTTP "+strconv.Itoa(af.RawResponse.StatusCode))
		}
		if c := aadstsCode.FindString(err.Error()); c != "" {
			details = append(details, c)
		}
		if len(details) > 0 {
			r += " (" + strings.Join(details, ", ") + ")"
		}
		return r
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout waiting for the token endpoint"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &netErr):
		return "token endpoint unreachable"
	}
	return "credential unavailable"
}

// unreachable names a transport failure found in an error's text (matched,
// never echoed), or returns "".
func unreachable(msg string) string {
	switch {
	case strings.Contains(msg, "connection refused"):
		return "token endpoint unreachable (connection refused)"
	case strings.Contains(msg, "no such host"):
		return "token endpoint unreachable (no such host)"
	case strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "deadline exceeded"):
		return "timeout waiting for the token endpoint"
	case strings.Contains(msg, "certificate"):
		return "token endpoint TLS certificate error"
	}
	return ""
}
