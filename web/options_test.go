package web

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/spillwayhq/spillway/internal/config"
)

// TestDeploymentFormOffersEveryClass keeps the portal's deployment form in
// step with what the config accepts: a class or provider added to the
// gateway must be one the portal can choose.
func TestDeploymentFormOffersEveryClass(t *testing.T) {
	page, err := os.ReadFile("templates/admin.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id   string
		want []string
	}{
		{"dep-class", config.Classes},
		{"dep-provider", config.Providers},
	} {
		sel := regexp.MustCompile(`(?s)<select id="` + tt.id + `">(.*?)</select>`).FindSubmatch(page)
		if sel == nil {
			t.Fatalf("no select #%s in admin.html", tt.id)
		}
		var got []string
		for _, m := range regexp.MustCompile(`<option>([^<]+)</option>`).FindAllSubmatch(sel[1], -1) {
			got = append(got, string(m[1]))
		}
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("#%s offers %v, missing %q", tt.id, got, w)
			}
		}
	}
}
