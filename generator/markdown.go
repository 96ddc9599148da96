package generator

import (
	"bytes"
	"html/template"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
)

// markdown renders staff-written Markdown. Raw HTML is off (goldmark
// replaces it with a comment), and goldmark drops dangerous link
// destinations (javascript:, vbscript:, file:, and data: other than
// images), so Markdown cannot inject script.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify, extension.TaskList),
	goldmark.WithRendererOptions(html.WithHardWraps()),
)

// Markdown renders src to safe HTML.
func Markdown(src string) template.HTML {
	if src == "" {
		return ""
	}
	var b bytes.Buffer
	if err := markdown.Convert([]byte(src), &b); err != nil {
		// goldmark only fails when writing to the buffer fails.
		return template.HTML(template.HTMLEscapeString(src))
	}
	return template.HTML(b.String())
}
