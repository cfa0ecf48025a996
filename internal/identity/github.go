package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"github.com/spillwayhq/spillway/internal/config"
)

// githubProvider signs in with GitHub OAuth (github.com or Enterprise
// Server) and reads the person's verified email, orgs and teams from the
// API.
type githubProvider struct {
	c      config.IdentityProvider
	client *http.Client
	api    string
	oauth  oauth2.Config
}

func newGitHub(c config.IdentityProvider, client *http.Client) *githubProvider {
	base := strings.TrimSuffix(c.GitHubURL, "/")
	if base == "" {
		base = "https://github.com"
	}
	api := strings.TrimSuffix(c.GitHubAPIURL, "/")
	if api == "" {
		api = "https://api.github.com"
	}
	return &githubProvider{c: c, client: client, api: api, oauth: oauth2.Config{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret.Value(),
		Endpoint: oauth2.Endpoint{AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   append([]string{"read:user", "user:email", "read:org"}, c.Scopes...),
	}}
}

func (g *githubProvider) conf() config.IdentityProvider { return g.c }

func (g *githubProvider) name() string {
	if g.c.Name != "" {
		return g.c.Name
	}
	return "GitHub"
}

func (g *githubProvider) config(redirectURI string) *oauth2.Config {
	c := g.oauth
	c.RedirectURL = redirectURI
	return &c
}

func (g *githubProvider) authURL(_ context.Context, redirectURI string, f flow) (string, error) {
	return g.config(redirectURI).AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier)), nil
}

func (g *githubProvider) exchange(ctx context.Context, redirectURI, code string, f flow) (Identity, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, g.client)
	tok, err := g.config(redirectURI).Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("code exchange: %w", err)
	}
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := g.get(ctx, tok.AccessToken, "/user", &user); err != nil {
		return Identity{}, err
	}
	if user.Login == "" {
		return Identity{}, fmt.Errorf("GitHub's /user has no login")
	}
	id := Identity{Provider: g.c.ID, Subject: strconv.FormatInt(user.ID, 10), Login: user.Login, Name: user.Name}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := g.get(ctx, tok.AccessToken, "/user/emails", &emails); err != nil {
		return Identity{}, err
	}
	for _, e := range emails {
		if e.Primary && e.Verified {
			id.Email = strings.ToLower(e.Email)
		}
	}
	var orgs []struct {
		Login string `json:"login"`
	}
	if err := g.get(ctx, tok.AccessToken, "/user/orgs", &orgs); err != nil {
		return Identity{}, err
	}
	for _, o := range orgs {
		id.Orgs = append(id.Orgs, o.Login)
	}
	var teams []struct {
		Slug string `json:"slug"`
		Org  struct {
			Login string `json:"login"`
		} `json:"organization"`
	}
	if err := g.get(ctx, tok.AccessToken, "/user/teams", &teams); err != nil {
		return Identity{}, err
	}
	for _, t := range teams {
		id.Teams = append(id.Teams, t.Org.Login+"/"+t.Slug)
	}
	return id, nil
}

// get reads one GitHub API resource (the first 100 items of a list:
// enough orgs and teams to decide a role).
func (g *githubProvider) get(ctx context.Context, token, path string, v any) error {
	u := g.api + path
	if path != "/user" {
		u += "?per_page=100"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("GitHub API %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("GitHub API %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GitHub API %s answered %s", path, resp.Status)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GitHub API %s: %w", path, err)
	}
	return nil
}
