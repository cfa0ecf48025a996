package web

import (
	"bytes"
	"html"
	"io"
	"net/http"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// maxMarkdown bounds a description sent to /ui/markdown.
const maxMarkdown = 64 << 10

// md renders event descriptions. Raw HTML is never passed through: the
// default renderer would drop it silently; rawAsText shows it as the text
// the organiser typed. Links to javascript: and other dangerous schemes
// are dropped by goldmark's safe mode (no html.WithUnsafe).
var md = goldmark.New(
	goldmark.WithExtensions(extension.Linkify, extension.Strikethrough, extension.Table),
	goldmark.WithRendererOptions(
		gmhtml.WithHardWraps(),
		renderer.WithNodeRenderers(util.Prioritized(rawAsText{}, 10)),
	),
)

// renderMarkdown returns the safe HTML of a markdown source.
func renderMarkdown(src []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := md.Convert(src, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// rawAsText renders inline and block HTML as escaped text.
type rawAsText struct{}

func (rawAsText) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindRawHTML, func(w util.BufWriter, source []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			segs := n.(*ast.RawHTML).Segments
			for i := 0; i < segs.Len(); i++ {
				s := segs.At(i)
				_, _ = w.WriteString(html.EscapeString(string(s.Value(source))))
			}
		}
		return ast.WalkSkipChildren, nil
	})
	reg.Register(ast.KindHTMLBlock, func(w util.BufWriter, source []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		b := n.(*ast.HTMLBlock)
		_, _ = w.WriteString("<p>")
		lines := b.Lines()
		for i := 0; i < lines.Len(); i++ {
			s := lines.At(i)
			_, _ = w.WriteString(html.EscapeString(string(s.Value(source))))
		}
		if b.HasClosure() {
			_, _ = w.WriteString(html.EscapeString(string(b.ClosureLine.Value(source))))
		}
		_, _ = w.WriteString("</p>\n")
		return ast.WalkSkipChildren, nil
	})
}

// markdown answers POST /ui/markdown: the body is markdown, the answer
// the HTML fragment the playground shows for an event description.
func (h *Handler) markdown(w http.ResponseWriter, r *http.Request) {
	src, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMarkdown))
	if err != nil {
		http.Error(w, "description too long", http.StatusRequestEntityTooLarge)
		return
	}
	out, err := renderMarkdown(src)
	if err != nil {
		http.Error(w, "cannot render", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(out)
}
