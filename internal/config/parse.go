package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Load reads and parses the file at path: Parse with os.LookupEnv. Like
// Parse it does not call Validate, and problems with single settings are
// left for Validate to report.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse reads a config file's bytes: the native shape, or a LiteLLM file
// (recognised by its model_list) converted to the native shape. It resolves
// os.environ/NAME and ${NAME} in every value with lookupEnv (os.LookupEnv
// when nil) and applies defaults.
//
// Parse fails only when data is not a readable YAML mapping. Problems with
// single settings (unknown keys, values of the wrong type, environment
// variables that are not set) are kept in the Config and reported by
// Validate together with everything else, so that one run of
// `spillway check` names them all. Callers must call Validate.
func Parse(data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	c := &Config{}
	if root.Kind == 0 || root.Kind == yaml.DocumentNode || isNull(root) {
		c.ApplyDefaults() // an empty file: every setting at its default
		return c, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the file must be a mapping of settings (listen:, deployments:, ...), not %s", root.Line, describe(root))
	}

	w := newWalker(lookupEnv)
	if lookupKey(root, "model_list") != nil {
		w.lookup = litellmEnv(root, lookupEnv)
		var f litellmFile
		w.walk(root, reflect.TypeFor[litellmFile](), "")
		if err := root.Decode(&f); err != nil {
			return nil, decodeError(err)
		}
		c = f.convert(w.present)
	} else {
		w.walk(root, reflect.TypeFor[Config](), "")
		if err := root.Decode(c); err != nil {
			return nil, decodeError(err)
		}
		c.retriesSet = w.present["routing.retries"]
	}
	c.problems = w.problems
	c.ApplyDefaults()
	return c, nil
}

// decodeError reports what the walker let through and the decoder refused,
// such as excessive aliasing.
func decodeError(err error) error {
	return errors.New(strings.ReplaceAll(strings.TrimPrefix(err.Error(), "yaml: "), "\n ", ""))
}

// walker checks a YAML tree against the Go type it will be decoded into,
// before it is decoded: it resolves environment references in scalars,
// records every problem with its path, and removes what would make the
// decoder fail (bad values become null, unknown or repeated keys go), so
// that one bad setting does not hide the others.
type walker struct {
	lookup   func(string) (string, bool)
	problems []*FieldError
	// present holds the path of every struct field set to a non-null value.
	present map[string]bool
	// visited holds the outcome of checking a node against a type, so an
	// anchor used many times is checked once per type (no alias bombs).
	visited map[visit]bool
	// expanded holds the scalars whose environment references are resolved.
	expanded map[*yaml.Node]bool
	// active holds the nodes being walked, to catch an anchor that
	// contains itself.
	active map[*yaml.Node]bool
}

type visit struct {
	n *yaml.Node
	t reflect.Type
}

func newWalker(lookup func(string) (string, bool)) *walker {
	return &walker{
		lookup:   lookup,
		present:  map[string]bool{},
		visited:  map[visit]bool{},
		expanded: map[*yaml.Node]bool{},
		active:   map[*yaml.Node]bool{},
	}
}

func (w *walker) problem(path, format string, args ...any) {
	w.problems = append(w.problems, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	lenientType     = reflect.TypeFor[lenient]()
)

// lenient marks a struct whose unknown keys are ignored rather than
// reported: the parts of a LiteLLM file, which carry many settings Spillway
// has no use for.
type lenient interface{ lenientYAML() }

// walk checks n against t and reports whether n may stay; when it returns
// false the caller replaces n with null, which decodes to the zero value.
func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return false
		}
		if w.active[n.Alias] {
			w.problem(path, "anchor &%s contains itself", n.Value)
			return false
		}
		return w.walk(n.Alias, t, path)
	}
	for t.Kind() == reflect.Pointer && !t.Implements(unmarshalerType) {
		t = t.Elem()
	}
	if isNull(n) {
		return true
	}
	key := visit{n, t}
	if ok, done := w.visited[key]; done {
		return ok
	}
	w.active[n] = true
	ok := w.check(n, t, path)
	delete(w.active, n)
	w.visited[key] = ok
	return ok
}

func (w *walker) check(n *yaml.Node, t reflect.Type, path string) bool {
	switch {
	case reflect.PointerTo(t).Implements(unmarshalerType):
		return w.leaf(n, t, path)
	case t.Kind() == reflect.Struct:
		return w.object(n, t, path)
	case t.Kind() == reflect.Map:
		return w.dict(n, t, path)
	case t.Kind() == reflect.Slice:
		return w.list(n, t, path)
	case t.Kind() == reflect.Interface:
		switch n.Kind {
		case yaml.MappingNode:
			return w.dict(n, t, path)
		case yaml.SequenceNode:
			return w.list(n, t, path)
		}
	}
	return w.leaf(n, t, path)
}

// object checks a mapping decoded into a struct.
func (w *walker) object(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.MappingNode {
		w.problem(path, "want a mapping of settings (name: value), got %s", describe(n))
		return false
	}
	fields, names := fieldsOf(t)
	strict := !reflect.PointerTo(t).Implements(lenientType)
	lines := map[string]int{}
	kept := make([]*yaml.Node, 0, len(n.Content))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			if w.merge(v, t, path) {
				kept = append(kept, k, v)
			}
			continue
		}
		name, ok := w.key(k, path)
		if !ok {
			continue
		}
		p := join(path, name)
		ft, known := fields[name]
		if !known {
			if strict {
				w.problem(p, "%s", unknownField(name, names, path))
			}
			continue
		}
		if line, dup := lines[name]; dup {
			w.problem(p, "set twice, on lines %d and %d; keep one", line, k.Line)
			continue
		}
		lines[name] = k.Line
		if !w.walk(v, ft, p) {
			v = nullNode(v)
		} else if !isNull(v) {
			w.present[p] = true
		}
		kept = append(kept, k, v)
	}
	n.Content = kept
	return true
}

// dict checks a mapping decoded into a map (or an interface).
func (w *walker) dict(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.MappingNode {
		w.problem(path, "want a mapping (name: value), got %s", describe(n))
		return false
	}
	elem := t
	if t.Kind() == reflect.Map {
		elem = t.Elem()
	}
	type raw struct {
		kind  yaml.Kind
		value string
	}
	lines := map[raw]int{}
	kept := make([]*yaml.Node, 0, len(n.Content))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		// The decoder rejects two keys with the same text, merge keys
		// included, before it looks at merges.
		r := raw{k.Kind, k.Value}
		if line, dup := lines[r]; dup {
			w.problem(join(path, k.Value), "set twice, on lines %d and %d; keep one", line, k.Line)
			continue
		}
		lines[r] = k.Line
		if isMerge(k) {
			if w.merge(v, t, path) {
				kept = append(kept, k, v)
			}
			continue
		}
		name, ok := w.key(k, path)
		if !ok {
			continue
		}
		p := join(path, name)
		if !w.walk(v, elem, p) {
			v = nullNode(v)
		}
		kept = append(kept, k, v)
	}
	n.Content = kept
	return true
}

// list checks a sequence decoded into a slice (or an interface).
func (w *walker) list(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.SequenceNode {
		w.problem(path, "want a list, got %s", describe(n))
		return false
	}
	elem := t
	if t.Kind() == reflect.Slice {
		elem = t.Elem()
	}
	for i, e := range n.Content {
		if !w.walk(e, elem, fmt.Sprintf("%s[%d]", path, i)) {
			n.Content[i] = nullNode(e)
		}
	}
	return true
}

// merge checks the value of a merge key (<<: *defaults), which must be a
// mapping or a list of mappings, each checked as t.
func (w *walker) merge(v *yaml.Node, t reflect.Type, path string) bool {
	var parts []*yaml.Node
	switch deref(v).Kind {
	case yaml.MappingNode:
		parts = []*yaml.Node{v}
	case yaml.SequenceNode:
		if v.Kind == yaml.AliasNode {
			break // the decoder accepts a list of mappings only when written out
		}
		parts = v.Content
	}
	for _, p := range parts {
		if deref(p).Kind != yaml.MappingNode {
			parts = nil
			break
		}
	}
	if len(parts) == 0 {
		w.problem(join(path, "<<"), "a merge (<<) needs a mapping or a list of mappings")
		return false
	}
	for _, p := range parts {
		if !w.walk(p, t, path) {
			return false
		}
	}
	return true
}

// key returns a mapping key as the string the decoder will see.
func (w *walker) key(k *yaml.Node, path string) (string, bool) {
	d := deref(k)
	if d.Kind != yaml.ScalarNode {
		w.problem(path, "line %d: a key must be a plain name, not %s", k.Line, describe(d))
		return "", false
	}
	var s string
	if err := d.Decode(&s); err != nil {
		w.problem(path, "line %d: invalid key %q", k.Line, d.Value)
		return "", false
	}
	return s, true
}

// leaf checks a single value: it resolves environment references, then
// decodes the value on its own to see whether it fits t.
func (w *walker) leaf(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.ScalarNode {
		w.problem(path, "want a single value, got %s", describe(n))
		return false
	}
	if !w.expanded[n] {
		w.expanded[n] = true
		v, changed, problems := expandEnv(n.Value, w.lookup)
		for _, p := range problems {
			w.problem(path, "%s", p)
		}
		if changed {
			n.Value = v
			if t.Kind() == reflect.String {
				n.Tag, n.Style = "!!str", 0
			} else {
				// Let "${RPM}" become the number 600: resolve the tag
				// from the new text, as if it had been written plainly.
				n.Tag, n.Style = "", 0
			}
		}
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		w.problem(path, "%s", leafMessage(t, n, err))
		return false
	}
	return true
}

func leafMessage(t reflect.Type, n *yaml.Node, err error) string {
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return err.Error()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("invalid number %q; use a whole number", n.Value)
	case reflect.Bool:
		return fmt.Sprintf("invalid value %q; use true or false", n.Value)
	}
	return fmt.Sprintf("invalid value %q (%s)", n.Value, strings.TrimPrefix(err.Error(), "yaml: "))
}

type structFields struct {
	fields map[string]reflect.Type
	names  []string
}

var fieldCache sync.Map // reflect.Type → structFields

// fieldsOf returns the YAML names of t's fields, with inline structs
// flattened, as the decoder sees them; names lists them in order.
func fieldsOf(t reflect.Type) (fields map[string]reflect.Type, names []string) {
	if v, ok := fieldCache.Load(t); ok {
		sf := v.(structFields)
		return sf.fields, sf.names
	}
	defer func() { fieldCache.Store(t, structFields{fields, names}) }()
	fields = map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") {
			inner, innerNames := fieldsOf(f.Type)
			for _, n := range innerNames {
				fields[n] = inner[n]
			}
			names = append(names, innerNames...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	return fields, names
}

// litellmTopLevel are settings of a LiteLLM file, named in the message
// for a native file that has them but no model_list.
var litellmTopLevel = []string{"litellm_settings", "router_settings", "general_settings", "environment_variables"}

func unknownField(name string, known []string, path string) string {
	if path == "" && slices.Contains(litellmTopLevel, name) {
		return fmt.Sprintf("unknown field %q; a LiteLLM file is recognised by its model_list, which this file lacks", name)
	}
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(normalizeKey(name), normalizeKey(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown field %q; did you mean %q?", name, best)
	}
	return fmt.Sprintf("unknown field %q; known fields here: %s", name, strings.Join(known, ", "))
}

func normalizeKey(s string) string {
	return strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(s))
}

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// isMerge matches the decoder's test for a merge key.
func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && (n.Tag == "" || n.Tag == "!" || n.ShortTag() == "!!merge")
}

func nullNode(like *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: like.Line, Column: like.Column}
}

// lookupKey returns the value of key in mapping n, or nil.
func lookupKey(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

// describe names what a node is, for messages: "a list", "the value 3".
func describe(n *yaml.Node) string {
	n = deref(n)
	if n.Kind == yaml.ScalarNode {
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "a " + kindName(n)
}
