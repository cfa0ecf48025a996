package helm

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/spillwayhq/spillway/internal/admin"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/store"
)

const chartDir = "spillway"

// valueSets are the installs the chart must render: each is decoded,
// checked and linted.
var valueSets = map[string]string{
	"defaults": ``,

	"single replica on a volume": `
persistence: {enabled: true, size: 5Gi}
adminToken: {secretRef: {name: spillway}}
secretKey: {secretRef: {name: spillway}}
`,

	"three replicas on PostgreSQL and Redis": `
replicaCount: 3
image: {repository: registry.example.com/spillway, tag: v1.2.3}
store: {secretRef: {name: spillway-store, key: url}}
redis: {secretRef: {name: spillway-redis, key: url}}
adminToken: {secretRef: {name: spillway, key: admin-token}}
secretKey: {secretRef: {name: spillway, key: secret-key}}
env:
  - name: AZURE_KEY_EASTUS
    valueFrom: {secretKeyRef: {name: azure-openai, key: eastus}}
  - name: TEAM_A_KEY
    valueFrom: {secretKeyRef: {name: spillway-clients, key: team-a}}
config:
  keys:
    - {key: os.environ/TEAM_A_KEY, name: team-a}
  routing: {strategy: least-inflight, cooldown: 45s}
  deployments:
    - id: gpt4o-eastus
      model: gpt-4o
      provider: azure
      endpoint: https://eastus.openai.azure.com
      api_key: os.environ/AZURE_KEY_EASTUS
      priority: 1
shutdownGraceSeconds: 60
serviceMonitor: {enabled: true, labels: {release: prometheus}}
networkPolicy:
  enabled: true
  ingressFrom:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}
  egress: {enabled: true}
`,

	"autoscaled, URLs without passwords": `
autoscaling: {enabled: true, minReplicas: 2, maxReplicas: 30}
store: {url: "postgres://spillway@db.internal:5432/spillway?sslmode=verify-full"}
redis: {url: "redis://redis.internal:6379/0"}
preStopSleepSeconds: 0
terminationGracePeriodSeconds: 90
log: {format: text, level: debug}
port: 8080
service: {type: LoadBalancer, port: 80}
`,

	"config of your own": `
existingConfigMap: my-spillway-config
podDisruptionBudget: {enabled: false}
serviceAccount: {create: false}
`,
}

// refusals are value sets the chart must refuse, with a phrase of the
// message that says why.
var refusals = []struct{ name, values, want string }{
	{"replicas without a store", "replicaCount: 3\nredis: {url: redis://r:6379}", "3 replicas need a PostgreSQL store"},
	{"replicas on SQLite", "replicaCount: 2\nstore: {url: sqlite:///data/x.db}\nredis: {url: redis://r:6379}", "need a PostgreSQL store"},
	{"replicas without Redis", "replicaCount: 2\nstore: {url: postgres://db/spillway}", "2 replicas need Redis"},
	{"autoscaling without a store", "autoscaling: {enabled: true, maxReplicas: 10}", "10 replicas need a PostgreSQL store"},
	{"replicas on a volume", "replicaCount: 2\nstore: {url: postgres://db/s}\nredis: {url: redis://r}\npersistence: {enabled: true}", "persistence is for a single replica"},
	{"grace shorter than the shutdown", "terminationGracePeriodSeconds: 20", "must be longer than preStopSleepSeconds + shutdownGraceSeconds (35)"},
	{"shutdown grace in the config", "config: {limits: {shutdown_grace: 10s}}", "set shutdownGraceSeconds rather than config.limits.shutdown_grace"},
	{"listen in the config", "config: {listen: 127.0.0.1:4000}", "set port rather than config.listen"},
	{"both URL and Secret", "store: {url: postgres://db/s, secretRef: {name: s}}", "not both"},
}

// readmeValues is the values file README.md's "Deploy" section writes,
// so the example a reader copies renders and passes the same checks.
func readmeValues(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)cat > spillway-values.yaml <<'VALUES'\n(.*?)\nVALUES\n`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md no longer writes spillway-values.yaml; update this test with it")
	}
	return string(m[1])
}

// allValueSets is valueSets and the README's.
func allValueSets(t *testing.T) map[string]string {
	sets := map[string]string{"README": readmeValues(t)}
	for name, v := range valueSets {
		sets[name] = v
	}
	return sets
}

func TestChartRenders(t *testing.T) {
	binary := readBinary(t)
	for name, values := range allValueSets(t) {
		t.Run(name, func(t *testing.T) {
			vals := parseValues(t, values)
			m := decodeAll(t, render(t, vals))
			checkManifests(t, m, vals, binary)
		})
	}
}

func TestChartRefuses(t *testing.T) {
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderErr(t, parseValues(t, tt.values))
			if err == nil {
				t.Fatalf("rendered; want a refusal saying %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("refusal %q does not say %q", err, tt.want)
			}
		})
	}
}

// TestChartLint is `helm lint --strict` for every value set.
func TestChartLint(t *testing.T) {
	for name, values := range allValueSets(t) {
		t.Run(name, func(t *testing.T) {
			l := lint.RunAll(chartDir, parseValues(t, values), "spillway")
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				}
			}
		})
	}
}

// TestProbePathsAreServed asks the management handler, which serve mounts
// at /health/, for the paths the chart's probes use.
func TestProbePathsAreServed(t *testing.T) {
	m := decodeAll(t, render(t, nil))
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "probe.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := admin.New(admin.Options{Store: st, Logger: slog.New(slog.DiscardHandler)})
	c := m.container(t)
	for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe: none, or not an HTTP GET", name)
			continue
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p.HTTPGet.Path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s probe GET %s: status %d, want 200 (%s)", name, p.HTTPGet.Path, rec.Code, rec.Body)
		}
	}
}

// manifests are one render's objects, decoded.
type manifests struct {
	deployment     *appsv1.Deployment
	service        *corev1.Service
	configMap      *corev1.ConfigMap
	serviceAccount *corev1.ServiceAccount
	pvc            *corev1.PersistentVolumeClaim
	pdb            *policyv1.PodDisruptionBudget
	hpa            *autoscalingv2.HorizontalPodAutoscaler
	networkPolicy  *networkingv1.NetworkPolicy
	serviceMonitor *serviceMonitor
}

func (m manifests) container(t *testing.T) corev1.Container {
	t.Helper()
	if m.deployment == nil {
		t.Fatal("no Deployment rendered")
	}
	cs := m.deployment.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("Deployment has %d containers, want 1", len(cs))
	}
	return cs[0]
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// (monitoring.coreos.com/v1) the chart writes, with the CRD's field
// names, so a misspelt field fails the strict decode as it would fail
// the API server's validation.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

func parseValues(t *testing.T, s string) map[string]any {
	t.Helper()
	v, err := common.ReadValues([]byte(s))
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	return v
}

func render(t *testing.T, vals map[string]any) map[string]string {
	t.Helper()
	out, err := renderErr(t, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return out
}

func renderErr(t *testing.T, vals map[string]any) (map[string]string, error) {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := util.ToRenderValues(c, vals, common.ReleaseOptions{Name: "gw", Namespace: "llm", IsInstall: true}, common.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	return engine.Render(c, top)
}

// decodeAll decodes every document of every rendered file into its
// Kubernetes type, refusing unknown and duplicate fields.
func decodeAll(t *testing.T, files map[string]string) manifests {
	t.Helper()
	var m manifests
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(files[name], -1) {
			if strings.TrimSpace(doc) == "" || isComments(doc) {
				continue
			}
			where := fmt.Sprintf("%s#%d", name, i)
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s: %v\n%s", where, err, doc)
			}
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 Deployment":
				m.deployment = one(t, where, m.deployment)
				obj = m.deployment
			case "v1 Service":
				m.service = one(t, where, m.service)
				obj = m.service
			case "v1 ConfigMap":
				m.configMap = one(t, where, m.configMap)
				obj = m.configMap
			case "v1 ServiceAccount":
				m.serviceAccount = one(t, where, m.serviceAccount)
				obj = m.serviceAccount
			case "v1 PersistentVolumeClaim":
				m.pvc = one(t, where, m.pvc)
				obj = m.pvc
			case "policy/v1 PodDisruptionBudget":
				m.pdb = one(t, where, m.pdb)
				obj = m.pdb
			case "autoscaling/v2 HorizontalPodAutoscaler":
				m.hpa = one(t, where, m.hpa)
				obj = m.hpa
			case "networking.k8s.io/v1 NetworkPolicy":
				m.networkPolicy = one(t, where, m.networkPolicy)
				obj = m.networkPolicy
			case "monitoring.coreos.com/v1 ServiceMonitor":
				m.serviceMonitor = one(t, where, m.serviceMonitor)
				obj = m.serviceMonitor
			default:
				t.Fatalf("%s: unexpected %s %s", where, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s: strict decode: %v\n%s", where, err, doc)
			}
		}
	}
	return m
}

// one allocates the object for a kind the chart renders at most once.
func one[T any](t *testing.T, where string, have *T) *T {
	t.Helper()
	if have != nil {
		t.Fatalf("%s: a second %T", where, *have)
	}
	return new(T)
}

func isComments(doc string) bool {
	for line := range strings.Lines(doc) {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// binary is what cmd/spillway reads, found in its source: the
// environment variables it looks up and serve's flags.
type binary struct {
	env, serveFlags []string
	imageUser       int64
}

func readBinary(t *testing.T) binary {
	t.Helper()
	var b binary
	fset := token.NewFileSet()
	paths, err := filepath.Glob("../../cmd/spillway/*.go")
	if err != nil || len(paths) == 0 {
		t.Fatalf("cmd/spillway sources: %v", err)
	}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// serve's flags are those runServe and logFlags define.
		var serveFuncs []ast.Node
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && (fd.Name.Name == "runServe" || fd.Name.Name == "logFlags") {
				serveFuncs = append(serveFuncs, fd)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			recv, _ := sel.X.(*ast.Ident)
			lit, _ := call.Args[0].(*ast.BasicLit)
			if recv == nil || lit == nil || lit.Kind != token.STRING {
				return true
			}
			s, _ := strconv.Unquote(lit.Value)
			switch {
			case recv.Name == "os" && (sel.Sel.Name == "Getenv" || sel.Sel.Name == "LookupEnv"):
				b.env = append(b.env, s)
			case recv.Name == "fs" && slices.Contains([]string{"String", "Bool", "Int", "Duration", "Float64"}, sel.Sel.Name):
				if slices.ContainsFunc(serveFuncs, func(fn ast.Node) bool { return fn.Pos() <= call.Pos() && call.End() <= fn.End() }) {
					b.serveFlags = append(b.serveFlags, s)
				}
			}
			return true
		})
	}
	slices.Sort(b.env)
	b.env = slices.Compact(b.env)
	if !slices.Contains(b.serveFlags, "config") || !slices.Contains(b.serveFlags, "log-format") {
		t.Fatalf("found serve's flags %v: want config and log-format among them; has runServe moved?", b.serveFlags)
	}
	for _, want := range []string{"SPILLWAY_CONFIG", "SPILLWAY_LISTEN", "SPILLWAY_STORE", "SPILLWAY_REDIS", "SPILLWAY_ADMIN_TOKEN", "SPILLWAY_SECRET_KEY"} {
		if !slices.Contains(b.env, want) {
			t.Errorf("cmd/spillway no longer reads %s (DESIGN.md names it); the chart and this test need updating", want)
		}
	}

	cf, err := os.ReadFile("../container/Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	u := regexp.MustCompile(`(?m)^USER (\d+)(:\d+)?$`).FindSubmatch(cf)
	if u == nil {
		t.Fatal("deploy/container/Containerfile has no numeric USER")
	}
	b.imageUser, _ = strconv.ParseInt(string(u[1]), 10, 64)
	return b
}

// checkManifests holds one render against the values it came from and
// against what the binary serves and reads.
func checkManifests(t *testing.T, m manifests, vals map[string]any, bin binary) {
	d := m.deployment
	c := m.container(t)
	pod := d.Spec.Template.Spec
	podLabels := labels.Set(d.Spec.Template.Labels)

	// Replicas: fixed, or left to the HPA.
	if m.hpa != nil {
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment sets replicas %d beside an HPA, which would fight it", *d.Spec.Replicas)
		}
		if m.hpa.Spec.ScaleTargetRef.Name != d.Name || m.hpa.Spec.ScaleTargetRef.Kind != "Deployment" {
			t.Errorf("HPA scales %+v, want Deployment %s", m.hpa.Spec.ScaleTargetRef, d.Name)
		}
	} else if d.Spec.Replicas == nil {
		t.Error("Deployment sets no replicas and there is no HPA")
	}
	selects(t, "Deployment", d.Spec.Selector, podLabels)

	// The command line: serve, with flags serve has.
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("args %q, want serve first", c.Args)
	}
	for _, a := range c.Args[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || !slices.Contains(bin.serveFlags, name) {
			t.Errorf("arg %q: not a flag spillway serve has (%v)", a, bin.serveFlags)
		}
	}

	// Environment: every SPILLWAY_ name is one the binary reads.
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s set twice", e.Name)
		}
		env[e.Name] = e
		if strings.HasPrefix(e.Name, "SPILLWAY_") && !slices.Contains(bin.env, e.Name) {
			t.Errorf("env %s: spillway reads no such variable (it reads %v)", e.Name, bin.env)
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && (e.ValueFrom.SecretKeyRef.Name == "" || e.ValueFrom.SecretKeyRef.Key == "") {
			t.Errorf("env %s: secret reference without a name or key: %+v", e.Name, e.ValueFrom.SecretKeyRef)
		}
	}
	for _, name := range []string{"SPILLWAY_ADMIN_TOKEN", "SPILLWAY_SECRET_KEY"} {
		if e, ok := env[name]; ok && e.ValueFrom == nil {
			t.Errorf("env %s holds its secret in the manifest; it must come from a Secret", name)
		}
	}

	// The listen address, the container port, the probes and the Service
	// agree, and the gateway listens beyond loopback.
	port := c.Ports
	if len(port) != 1 || port[0].Name != "http" {
		t.Fatalf("container ports %+v, want one named http", port)
	}
	listen := env["SPILLWAY_LISTEN"].Value
	host, p, err := net.SplitHostPort(listen)
	if err != nil || p != strconv.Itoa(int(port[0].ContainerPort)) {
		t.Errorf("SPILLWAY_LISTEN %q does not listen on the container port %d", listen, port[0].ContainerPort)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		t.Errorf("SPILLWAY_LISTEN %q: want every interface (0.0.0.0), since the kubelet probes the pod's address", listen)
	}
	if want := fmt.Sprint(valueOr(vals, "port", 4000)); p != want {
		t.Errorf("listen port %s, want the port value %s", p, want)
	}
	for name, probe := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil {
			t.Errorf("%s probe: none, or not an HTTP GET", name)
			continue
		}
		if probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe port %s, want the container's port http", name, probe.HTTPGet.Port.String())
		}
	}
	if c.LivenessProbe.HTTPGet.Path != "/health/liveliness" || c.ReadinessProbe.HTTPGet.Path != "/health/readiness" {
		t.Errorf("probe paths %s and %s, want /health/liveliness and /health/readiness", c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path)
	}
	svc := m.service
	if svc == nil {
		t.Fatal("no Service")
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service ports %+v, want one targeting http", svc.Spec.Ports)
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, podLabels)
	}

	// The config: mounted read-only where SPILLWAY_CONFIG says, valid for
	// the binary, every os.environ/NAME set in the container.
	cfgPath := env["SPILLWAY_CONFIG"].Value
	mount := mountAt(c, filepath.Dir(cfgPath))
	if mount == nil || !mount.ReadOnly {
		t.Fatalf("SPILLWAY_CONFIG %q: no read-only mount at %s", cfgPath, filepath.Dir(cfgPath))
	}
	vol := volume(pod, mount.Name)
	if vol == nil || vol.ConfigMap == nil {
		t.Fatalf("config volume %q is not a ConfigMap", mount.Name)
	}
	if len(vol.ConfigMap.Items) != 1 || vol.ConfigMap.Items[0].Path != filepath.Base(cfgPath) {
		t.Errorf("config volume items %+v, want %s", vol.ConfigMap.Items, filepath.Base(cfgPath))
	}
	shutdownGrace := int64(valueOr(vals, "shutdownGraceSeconds", 30))
	if existing, _ := vals["existingConfigMap"].(string); existing != "" {
		if m.configMap != nil || vol.ConfigMap.Name != existing {
			t.Errorf("existingConfigMap %s: rendered a ConfigMap %v, mounted %s", existing, m.configMap != nil, vol.ConfigMap.Name)
		}
	} else {
		if m.configMap == nil || vol.ConfigMap.Name != m.configMap.Name {
			t.Fatalf("config volume names ConfigMap %q, not the rendered one", vol.ConfigMap.Name)
		}
		data := m.configMap.Data[vol.ConfigMap.Items[0].Key]
		cfg, err := config.Parse([]byte(data), func(name string) (string, bool) {
			if _, ok := env[name]; ok {
				return "set-in-the-pod", true
			}
			return "", false
		})
		if err != nil {
			t.Fatalf("spillway.yaml: %v\n%s", err, data)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("spillway.yaml is not valid for the binary: %v\n%s", err, data)
		}
		if got := cfg.Limits.ShutdownGrace.D().Seconds(); got != float64(shutdownGrace) {
			t.Errorf("limits.shutdown_grace %vs, want shutdownGraceSeconds %d", got, shutdownGrace)
		}
	}

	// Termination: SIGTERM comes after the preStop sleep; the gateway then
	// drains for the shutdown grace and flushes usage records.
	var preStop int64
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		if c.Lifecycle.PreStop.Sleep == nil {
			t.Errorf("preStop %+v: want a sleep (the image has no shell)", c.Lifecycle.PreStop)
		} else {
			preStop = c.Lifecycle.PreStop.Sleep.Seconds
		}
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g <= preStop+shutdownGrace {
		t.Errorf("terminationGracePeriodSeconds %v, want more than preStop %ds + shutdown grace %ds", g, preStop, shutdownGrace)
	}

	// Security: non-root (the image's own user), read-only root, no
	// capabilities, RuntimeDefault seccomp; writable places are volumes.
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || sc == nil {
		t.Fatal("no pod or container securityContext")
	}
	if !isTrue(psc.RunAsNonRoot) || psc.RunAsUser == nil || *psc.RunAsUser != bin.imageUser {
		t.Errorf("pod runs as %v (runAsNonRoot %v), want the image's user %d", psc.RunAsUser, psc.RunAsNonRoot, bin.imageUser)
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod seccompProfile %+v, want RuntimeDefault", psc.SeccompProfile)
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || isTrue(sc.Privileged) || !isTrue(sc.RunAsNonRoot) {
		t.Errorf("container securityContext %+v: want a read-only root, no privilege escalation, not privileged, non-root", sc)
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities %+v, want drop ALL and add none", sc.Capabilities)
	}
	for _, dir := range []string{"/data", "/tmp"} {
		mnt := mountAt(c, dir)
		if mnt == nil || mnt.ReadOnly {
			t.Errorf("%s: no writable volume (the root filesystem is read-only)", dir)
			continue
		}
		if v := volume(pod, mnt.Name); v == nil || (v.EmptyDir == nil && v.PersistentVolumeClaim == nil) {
			t.Errorf("%s: volume %q is neither an emptyDir nor a claim", dir, mnt.Name)
		}
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token; the gateway never calls the Kubernetes API")
	}

	// Spread over nodes and zones.
	keys := map[string]bool{}
	for _, tsc := range pod.TopologySpreadConstraints {
		keys[tsc.TopologyKey] = true
		selects(t, "topology spread "+tsc.TopologyKey, tsc.LabelSelector, podLabels)
	}
	if !keys["kubernetes.io/hostname"] || !keys["topology.kubernetes.io/zone"] {
		t.Errorf("topology spread over %v, want hostname and zone", keys)
	}

	// The optional objects point at these pods.
	if m.pdb != nil {
		selects(t, "PodDisruptionBudget", m.pdb.Spec.Selector, podLabels)
	}
	if m.networkPolicy != nil {
		selects(t, "NetworkPolicy", &m.networkPolicy.Spec.PodSelector, podLabels)
		for _, r := range m.networkPolicy.Spec.Ingress {
			for _, p := range r.Ports {
				if p.Port == nil || p.Port.String() != "http" {
					t.Errorf("NetworkPolicy admits port %v, want http", p.Port)
				}
			}
		}
	}
	if sm := m.serviceMonitor; sm != nil {
		if !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(svc.Labels)) {
			t.Errorf("ServiceMonitor selector %v does not select the Service %v", sm.Spec.Selector.MatchLabels, svc.Labels)
		}
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor endpoints %+v, want port http path /metrics", sm.Spec.Endpoints)
		}
	}
	if m.pvc != nil {
		v := volume(pod, mountAt(c, "/data").Name)
		if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != m.pvc.Name {
			t.Errorf("/data is not the rendered claim %s", m.pvc.Name)
		}
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("strategy %s with a ReadWriteOnce claim; want Recreate", d.Spec.Strategy.Type)
		}
	}
	if sa := pod.ServiceAccountName; m.serviceAccount != nil && sa != m.serviceAccount.Name {
		t.Errorf("pod service account %q, rendered %q", sa, m.serviceAccount.Name)
	}
}

func selects(t *testing.T, what string, sel *metav1.LabelSelector, podLabels labels.Set) {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() || !s.Matches(podLabels) {
		t.Errorf("%s selector %v does not select the pods %v (%v)", what, sel, podLabels, err)
	}
}

func mountAt(c corev1.Container, path string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].MountPath == path {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func volume(pod corev1.PodSpec, name string) *corev1.Volume {
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

func isTrue(b *bool) bool { return b != nil && *b }

// valueOr reads a top-level number from the values, or def.
func valueOr(vals map[string]any, key string, def int) int {
	switch v := vals[key].(type) {
	case int:
		return v
	case int64:
		return int(v)
	case float64:
		return int(v)
	}
	return def
}
