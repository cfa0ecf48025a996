package web

import "strings"

// Pages are written with html/template (templates/*.html) but not executed
// by it at run time. html/template reaches fields and methods by name
// through reflection, and a binary that can do that keeps every exported
// method of every type it links: 9 MB of Spillway's 37 MB. So the
// templates are compiled ahead of time (`go generate ./web`, which runs
// TestCompiledPages -update) into pages_gen.go: for each page, and each
// combination of page fields set or empty, the literal HTML html/template
// produced, with slots where a field's value or an asset URL goes. Slots
// are escaped exactly as html/template escapes HTML text and quoted
// attributes; TestCompiledPages and FuzzCompiledPages prove the output is
// byte for byte what html/template renders, and refuse a template that puts
// a field anywhere else (a script, a URL, an unquoted attribute).
// Consequently page holds strings only: lists and anything richer are
// fetched and drawn by the page's script.
//
//go:generate go test -run ^TestCompiledPages$ -update

// pagePart is one piece of a compiled page: literal HTML, a page field
// (field >= 0, an index into page.fields), or an asset's URL.
type pagePart struct {
	lit   string
	field int
	asset string
}

// compiledPage is one template compiled for every combination of set
// fields: variants[byMask[m]] is the page when the fields set are the bits
// of m (bit i for page.fields()[i]).
type compiledPage struct {
	variants [][]pagePart
	byMask   []uint8
}

// htmlEscaper escapes as html/template's htmlEscaper does for text, RCDATA
// and quoted attribute values.
var htmlEscaper = strings.NewReplacer(
	"\x00", "\uFFFD",
	`"`, "&#34;",
	"&", "&amp;",
	"'", "&#39;",
	"+", "&#43;",
	"<", "&lt;",
	">", "&gt;",
)

// appendPage appends the page name renders with p, and false when there is
// no such page.
func (h *Handler) appendPage(b []byte, name string, p *page) ([]byte, bool) {
	c, ok := compiledPages[name]
	if !ok {
		return b, false
	}
	fields := p.fields()
	mask := 0
	for i, v := range fields {
		if v != "" {
			mask |= 1 << i
		}
	}
	for _, part := range c.variants[c.byMask[mask]] {
		switch {
		case part.asset != "":
			b = append(b, htmlEscaper.Replace(h.assets.url(part.asset))...)
		case part.field >= 0:
			b = append(b, htmlEscaper.Replace(fields[part.field])...)
		default:
			b = append(b, part.lit...)
		}
	}
	return b, true
}
