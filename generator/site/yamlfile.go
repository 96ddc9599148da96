package site

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// doc is one YAML document being loaded: its file, its node tree, and
// where to report problems.
type doc struct {
	file       string
	root       *yaml.Node // the top mapping; nil if the file did not parse
	lineOffset int        // added to YAML lines (front matter starts below "---")
	out        *Problems
	src        []byte // the file's bytes
	// misspelt are the known field names suggested for unknown ones ("did
	// you mean"): that such a field is missing is not said again.
	misspelt map[string]bool
}

// errorf reports a problem at the node found by path (keys and indexes from
// the top mapping); when the path does not exist, at its deepest existing
// part.
func (d *doc) errorf(path []any, format string, args ...any) {
	line, col := d.pos(path...)
	*d.out = append(*d.out, Problem{File: d.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// keyErrorf reports at the key of the last path element rather than its value.
func (d *doc) keyErrorf(path []any, format string, args ...any) {
	line, col := d.keyPos(path...)
	msg := fmt.Sprintf(format, args...)
	for name := range d.misspelt {
		if strings.Contains(msg, `; add "`+name+`:`) {
			return // "has no subject" after `unknown field "subjet" (did you mean "subject"?)`
		}
	}
	*d.out = append(*d.out, Problem{File: d.file, Line: line, Col: col, Msg: msg})
}

func (d *doc) at(path ...any) (key, val *yaml.Node) {
	n := d.root
	if n == nil {
		return nil, nil
	}
	key = n
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return key, n
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					key, n = n.Content[i], n.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return key, n
			}
		case int:
			if n.Kind != yaml.SequenceNode || p < 0 || p >= len(n.Content) {
				return key, n
			}
			n = n.Content[p]
			key = n
		}
	}
	return key, n
}

func (d *doc) pos(path ...any) (int, int) {
	_, n := d.at(path...)
	if n == nil {
		return 1, 1
	}
	return n.Line + d.lineOffset, n.Column
}

func (d *doc) keyPos(path ...any) (int, int) {
	k, _ := d.at(path...)
	if k == nil {
		return 1, 1
	}
	return k.Line + d.lineOffset, k.Column
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// docStartRE matches a line that starts a new YAML document ("---") or
// ends the current one ("...").
var docStartRE = regexp.MustCompile(`^(?:---|\.\.\.)(?:[ \t].*)?\r?$`)

// parseRoot parses the first YAML document of src and returns its top
// node (unwrapped from the document node) and the decoder, positioned at
// whatever follows it.
func parseRoot(src []byte) (*yaml.Node, *yaml.Decoder, error) {
	var top yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&top); err != nil {
		return nil, dec, err
	}
	root := &top
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	return root, dec, nil
}

// decode parses src into v, reporting syntax errors, unknown fields and
// type errors, all with positions. It reports whether v may be checked
// further (false after a syntax or type error, to avoid follow-on noise).
func (d *doc) decode(src []byte, v any) bool {
	d.src = src
	root, dec, err := parseRoot(src)
	if err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(nil, "file is empty")
			return false
		}
		d.yamlError(err)
		return false
	}
	// Anything after the first document is a mistake, whether or not it
	// parses: report it once, and nothing about its content.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := 0
		if err == nil {
			line = extra.Line
		} else {
			line = secondDocLine(src, lastLine(root))
		}
		*d.out = append(*d.out, Problem{File: d.file, Line: line + d.lineOffset, Col: 1, Msg: "only one YAML document is allowed per file (remove the second \"---\")"})
	}
	if root.Kind != yaml.MappingNode {
		*d.out = append(*d.out, Problem{File: d.file, Line: root.Line + d.lineOffset, Col: root.Column, Msg: "expected a mapping of fields (name: value)"})
		return false
	}
	d.root = root
	// Unknown fields are reported, but the rest of the file is still
	// checked; a value of the wrong type makes the file unusable.
	d.checkFields(root, reflect.TypeOf(v).Elem(), nil)
	if err := root.Decode(v); err != nil {
		d.yamlError(err)
		return false
	}
	return true
}

// lastLine is the last line a node of the tree n starts on.
func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

// secondDocLine finds the line of the "---" (or "...") that ends the first
// document, looking below line after; 1 if there is none.
func secondDocLine(src []byte, after int) int {
	for i, l := range strings.Split(string(src), "\n") {
		if i+1 > after && docStartRE.MatchString(l) {
			return i + 1
		}
	}
	return max(after, 1)
}

var (
	typeErrRE  = regexp.MustCompile("(?s)^cannot unmarshal (\\S+)(?: `(.*)`)? into (.+)$")
	dupFieldRE = regexp.MustCompile(`^field (.+) already set in type .+$`)
)

// yamlError turns a yaml.v3 error ("yaml: line 3: ...") into problems.
func (d *doc) yamlError(err error) {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		line, col := 1, 1
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			line, _ = strconv.Atoi(sm[1])
			m = sm[2]
			col = d.firstColumnOn(line)
		}
		m = strings.TrimPrefix(m, "yaml: ")
		if l, c, msg, ok := layoutProblem(d.src, line, m); ok {
			line, col, m = l, c, msg
		}
		if sm := typeErrRE.FindStringSubmatch(m); sm != nil {
			m = fmt.Sprintf("expected %s, not %s", goTypeWords(sm[3]), yamlValueWords(sm[1], sm[2]))
		} else if sm := dupFieldRE.FindStringSubmatch(m); sm != nil {
			m = fmt.Sprintf("field %q is written twice; keep one", sm[1])
		}
		*d.out = append(*d.out, Problem{File: d.file, Line: line + d.lineOffset, Col: col, Msg: m})
	}
}

// yamlValueWords describes a YAML value by its tag, for people: "a list",
// `the text "maybe"`. value is yaml.v3's (possibly shortened) text of a
// scalar.
func yamlValueWords(tag, value string) string {
	value = strings.ToValidUTF8(value, "")
	switch tag {
	case "!!str":
		return fmt.Sprintf("the text %q", value)
	case "!!int", "!!float":
		return "the number " + value
	case "!!bool":
		return "the value " + value
	case "!!timestamp":
		return "the date " + value
	case "!!null":
		return "nothing"
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	case "!!binary":
		return "binary data"
	}
	return "a value tagged " + strings.TrimLeft(tag, "!")
}

// listNames names the things in lists of each type, for messages.
var listNames = map[string]string{
	reflect.TypeFor[Contact]().String():  "contacts",
	reflect.TypeFor[Address]().String():  "addresses",
	reflect.TypeFor[Line]().String():     "line items",
	reflect.TypeFor[Discount]().String(): "discounts",
	reflect.TypeFor[Payment]().String():  "payments",
	reflect.TypeFor[Tax]().String():      "taxes",
	reflect.TypeFor[Link]().String():     "links",
	reflect.TypeFor[Embed]().String():    "embeds",
	reflect.TypeFor[Update]().String():   "updates",
}

// goTypeWords describes what a Go type (as yaml.v3 prints it) expects,
// for people: "a list (of contacts)", "true or false".
func goTypeWords(t string) string {
	t = strings.TrimLeft(t, "*")
	switch {
	case strings.HasPrefix(t, "[]"):
		if name, ok := listNames[strings.TrimLeft(t[2:], "*")]; ok {
			return "a list (of " + name + ")"
		}
		return "a list"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."):
		return "a mapping of fields (name: value)"
	case t == "string":
		return "text"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	}
	return "a different kind of value"
}

func (d *doc) firstColumnOn(line int) int {
	best := 1
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if n.Line == line {
			best = n.Column
			return true
		}
		for _, c := range n.Content {
			if walk(c) {
				return true
			}
		}
		return false
	}
	if d.root != nil {
		walk(d.root)
	}
	return best
}

// checkFields reports keys of mapping n that the Go type t has no field for.
func (d *doc) checkFields(n *yaml.Node, t reflect.Type, path []any) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	ok := true
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode || t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
			return true
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, found := fields[k.Value]
			if !found {
				ok = false
				names := make([]string, 0, len(fields))
				for name := range fields {
					names = append(names, name)
				}
				slices.Sort(names)
				where := ""
				if len(path) > 0 {
					where = " in " + pathString(path)
				}
				hint := ""
				if best := closest(k.Value, names); best != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", best)
					if d.misspelt == nil {
						d.misspelt = map[string]bool{}
					}
					d.misspelt[best] = true
				}
				*d.out = append(*d.out, Problem{File: d.file, Line: k.Line + d.lineOffset, Col: k.Column,
					Msg: fmt.Sprintf("unknown field %q%s%s; known fields: %s", k.Value, where, hint, strings.Join(names, ", "))})
				continue
			}
			if !d.checkFields(v, ft, append(path, k.Value)) {
				ok = false
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return true
		}
		for i, c := range n.Content {
			if !d.checkFields(c, t.Elem(), append(path, i)) {
				ok = false
			}
		}
	}
	return ok
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "-" || tag == "" || !f.IsExported() {
			continue
		}
		m[tag] = f.Type
	}
	return m
}

func pathString(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p)
		case int:
			fmt.Fprintf(&b, "[%d]", p+1)
		}
	}
	return b.String()
}

// closest is the known name nearest a misspelt one, "" if none is near.
func closest(got string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(got, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// splitFrontMatter separates "---\nYAML\n---\nbody". It returns the YAML,
// the body, and the line the body starts on. A file without front matter
// is all body.
func splitFrontMatter(src []byte) (fm []byte, body []byte, bodyLine int, ok bool) {
	src = bytes.TrimPrefix(src, []byte("\ufeff"))
	if !bytes.HasPrefix(src, []byte("---\n")) && !bytes.HasPrefix(src, []byte("---\r\n")) {
		return nil, src, 1, false
	}
	rest := src[bytes.IndexByte(src, '\n')+1:]
	line := 2
	for off := 0; off < len(rest); {
		end := bytes.IndexByte(rest[off:], '\n')
		var l []byte
		if end < 0 {
			l = rest[off:]
			end = len(rest) - off
		} else {
			l = rest[off : off+end]
		}
		if string(bytes.TrimRight(l, "\r")) == "---" {
			next := min(off+end+1, len(rest))
			return rest[:off], rest[next:], line + 1, true
		}
		off += end + 1
		line++
	}
	return nil, nil, 0, false
}

// indentMsgs are yaml.v3's words for a line that is indented wrongly,
// which it reports at a line near it (often the next one, at column 1).
var indentMsgs = []string{
	"mapping values are not allowed in this context",
	"did not find expected key",
	"did not find expected '-' indicator",
	"block sequence entries are not allowed in this context",
	"did not find expected <document start>",
	"found character that cannot start any token",
}

// layoutProblem translates a YAML syntax error about layout into what to
// do, at the line that is wrong: a tab used to indent ("tabs cannot indent
// YAML"), or the first line indented to no level of the lines above it
// (yaml.v3 names the line below the wrong one, or where its list began).
// Tabs are looked for up to the line after the reported one.
func layoutProblem(src []byte, reported int, msg string) (line, col int, out string, ok bool) {
	if !slices.ContainsFunc(indentMsgs, func(s string) bool { return strings.HasPrefix(msg, s) }) {
		return 0, 0, "", false
	}
	lines := strings.Split(string(src), "\n")
	for i, l := range lines {
		if i >= reported+1 {
			break
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if j := strings.IndexByte(indent, '\t'); j >= 0 && strings.TrimSpace(l) != "" {
			return i + 1, j + 1, "tabs cannot indent YAML; indent with spaces", true
		}
	}
	// Levels open at each line: the indentation of each enclosing mapping
	// or list, and whether the line above opens a deeper one ("key:" or
	// "- key: value", whose further keys line up after the "- ").
	type level struct {
		ind  int
		list bool // the "-" of a list's items stand here
	}
	levels := []level{{0, false}}
	opens, scalar := false, -1 // scalar: inside a block scalar (| or >) indented deeper than this
	for i, l := range lines {
		t := strings.TrimLeft(l, " ")
		if t == "" || strings.HasPrefix(t, "#") || docStartRE.MatchString(l) {
			continue
		}
		ind := len(l) - len(t)
		if scalar >= 0 {
			if ind > scalar {
				continue
			}
			scalar = -1
		}
		item := strings.HasPrefix(t, "- ") || t == "-"
		top := levels[len(levels)-1]
		switch {
		case ind > top.ind && (opens || i == 0):
			levels = append(levels, level{ind, item})
		case ind > top.ind:
			return i + 1, ind + 1, fmt.Sprintf("this line is indented more than the line above (%d spaces, not %d); line it up with the line it belongs with", ind, top.ind), true
		case ind < top.ind:
			for len(levels) > 1 && levels[len(levels)-1].ind > ind {
				levels = levels[:len(levels)-1]
			}
			if levels[len(levels)-1].ind != ind {
				return i + 1, ind + 1, fmt.Sprintf("this line is indented %d spaces, which lines up with no line above; indent it %d spaces like the lines it belongs with", ind, top.ind), true
			}
		case item && !top.list && !opens:
			// "- " among the fields of a mapping: an item of a list above.
			for j := len(levels) - 2; j >= 0; j-- {
				if levels[j].list {
					return i + 1, ind + 1, fmt.Sprintf("this list item is indented like the fields above it; indent it %d spaces like the other items of its list", levels[j].ind), true
				}
			}
		}
		if ind == levels[len(levels)-1].ind && item {
			levels[len(levels)-1].list = true
		}
		body := strings.TrimSpace(strings.SplitN(t, " #", 2)[0])
		opens = strings.HasSuffix(body, ":")
		if item {
			// "- name: x": the item's further keys are indented past the "- ".
			rest := strings.TrimLeft(strings.TrimPrefix(t, "-"), " ")
			levels = append(levels, level{ind + len(t) - len(rest), false})
			opens = opens || rest == ""
			if _, v, found := strings.Cut(rest, ": "); found && (strings.HasPrefix(v, "|") || strings.HasPrefix(v, ">")) {
				scalar = ind + len(t) - len(rest)
			}
		} else if _, v, found := strings.Cut(body, ": "); found && (strings.HasPrefix(v, "|") || strings.HasPrefix(v, ">")) {
			scalar = ind
		}
	}
	return 0, 0, "", false
}
