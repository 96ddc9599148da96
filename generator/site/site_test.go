package site_test

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the time zone tests do not depend on the system's zoneinfo

	"github.com/hubhq/hub/generator/money"
	"github.com/hubhq/hub/generator/site"
)

// testNow is the fixed clock of every Load in these tests: noon UTC on
// Monday 23 November 2026.
var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// absent in a file map removes a file of the base site.
const absent = "\x00absent"

// writeSiteFiles creates files (path relative to dir, with forward slashes)
// under dir. A path ending in "/" is an empty folder; the content absent
// removes the file.
func writeSiteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	// Removals first: a later file may replace a removed file's folder
	// ("clients" written over "clients/acme/client.yaml").
	for name, content := range files {
		if content == absent {
			if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if content == absent {
			continue
		}
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// baseSite is a valid content folder with one client and no documents;
// test cases add to it or override its files.
func baseSite() map[string]string {
	return map[string]string{
		"site.yaml": `name: Maple Renovations
timezone: America/New_York
taxes:
  - id: state
    name: State tax
    rate: 8.875
  - id: gst
    name: GST
    rate: 5
`,
		"clients/acme/client.yaml": `name: Ana Smith
company: Acme Corp
contacts:
  - name: Ana Smith
    email: ana@example.com
properties:
  - street: 1 Main St
    city: Springfield
`,
	}
}

// merge returns base with files added or replaced.
func merge(base, files map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(files))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range files {
		out[k] = v
	}
	return out
}

// loadSite writes the base site plus files to a new folder and loads it.
func loadSite(t testing.TB, files map[string]string) (string, *site.Site, site.Problems) {
	t.Helper()
	dir := t.TempDir()
	writeSiteFiles(t, dir, merge(baseSite(), files))
	s, ps := site.Load(dir, testNow)
	return dir, s, ps
}

// expand turns "rel/file:1:2: message" into the string Problem.String
// gives for a site in dir: the file joined to dir, and {dir} in the message
// replaced by dir.
func expand(dir string, want []string) []string {
	out := make([]string, len(want))
	for i, w := range want {
		file, rest, _ := strings.Cut(w, ":")
		out[i] = filepath.Join(dir, filepath.FromSlash(file)) + ":" + strings.ReplaceAll(rest, "{dir}", dir)
	}
	return out
}

func problemStrings(ps site.Problems) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// checkProblems compares the problems of a site in dir with want, written
// with paths relative to dir.
func checkProblems(t *testing.T, dir string, ps site.Problems, want []string) {
	t.Helper()
	got := problemStrings(ps)
	w := expand(dir, want)
	if !slices.Equal(got, w) {
		rel := make([]string, len(got))
		for i, g := range got {
			rel[i] = strings.ReplaceAll(strings.TrimPrefix(g, dir+string(filepath.Separator)), dir, "{dir}")
		}
		t.Errorf("Load problems =\n\t%s\nwant\n\t%s", strings.Join(rel, "\n\t"), strings.Join(want, "\n\t"))
	}
}

const (
	validQuote = `number: Q-1
title: Kitchen
status: awaiting_response
issued: 2026-11-01
valid_until: 2026-12-01
tax: state
lines:
  - name: Cabinets
    quantity: 2
    unit_price: 500.00
`
	validInvoice = `number: I-1
subject: Kitchen deposit
status: awaiting_payment
issued: 2026-11-01
due: 2026-12-01
lines:
  - name: Deposit
    unit_price: 100.00
`
	bobClient = `name: Bob Jones
contacts:
  - name: Bob Jones
    email: bob@example.com
`
	validPortal = `---
title: Kitchen remodel
---
Hello.
`
)

// allowedProviders is the tail of every "not from an allowed provider" message.
const allowedProviders = "allowed: YouTube and Vimeo videos, Loom recordings, Calendly booking pages, Google Docs/Sheets/Slides and Drive files"

const quoteStatuses = "draft, awaiting_response, approved, changes_requested, converted, archived"

func TestLoadValidSiteHasNoProblems(t *testing.T) {
	dir, _, ps := loadSite(t, map[string]string{
		"clients/acme/quotes/q-1.yaml":                    validQuote,
		"clients/acme/invoices/i-1.yaml":                  validInvoice,
		"clients/acme/portals/kitchen/portal.md":          validPortal,
		"clients/acme/portals/kitchen/updates/one.md":     "---\ntitle: Demo day\ndate: 2026-11-02\n---\nWalls down.\n",
		"clients/acme/portals/kitchen/documents/plan.pdf": "%PDF",
		"portals/help/portal.md":                          "---\ntitle: Help\n---\n",
	})
	checkProblems(t, dir, ps, nil)
}

// TestLoadProblems has a case for every problem the loader reports, each
// with the exact text a person sees.
func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		setup func(t *testing.T, dir string) // more than files can say
		want  []string
	}{
		// site.yaml
		{
			name:  "missing site.yaml",
			files: map[string]string{"site.yaml": absent},
			want:  []string{"site.yaml: missing: the content folder needs a site.yaml with at least the business name"},
		},
		{
			name:  "empty site.yaml",
			files: map[string]string{"site.yaml": ""},
			want:  []string{"site.yaml:1:1: file is empty"},
		},
		{
			name:  "site.yaml with only a comment",
			files: map[string]string{"site.yaml": "# nothing yet\n"},
			want:  []string{"site.yaml:1:1: file is empty"},
		},
		{
			name:  "site.yaml is a list",
			files: map[string]string{"site.yaml": "- name: Maple\n"},
			want:  []string{"site.yaml:1:1: expected a mapping of fields (name: value)"},
		},
		{
			name:  "site.yaml is a scalar on line 2",
			files: map[string]string{"site.yaml": "# comment\nMaple Renovations\n"},
			want:  []string{"site.yaml:2:1: expected a mapping of fields (name: value)"},
		},
		{
			name:  "YAML syntax error",
			files: map[string]string{"site.yaml": "name: Maple\nphone: a: b\n"},
			want:  []string{"site.yaml:2:1: mapping values are not allowed in this context"},
		},
		{
			name:  "YAML tab indentation",
			files: map[string]string{"site.yaml": "name: Maple\n\tphone: 1\n"},
			want:  []string{"site.yaml:2:1: found a tab character that violates indentation"},
		},
		{
			name:  "YAML unterminated string",
			files: map[string]string{"site.yaml": "name: Maple\nphone: \"555\n"},
			want:  []string{"site.yaml:2:1: found unexpected end of stream"},
		},
		{
			name:  "two YAML documents",
			files: map[string]string{"site.yaml": "name: Maple\n---\nname: Oak\n"},
			want:  []string{`site.yaml:2:1: only one YAML document is allowed per file (remove the second "---")`},
		},
		{
			name:  "duplicate key",
			files: map[string]string{"site.yaml": "phone: 1\nphone: 2\nname: Maple\n"},
			want:  []string{`site.yaml:2:1: mapping key "phone" already defined at line 1`},
		},
		{
			name: "unknown fields with suggestions",
			files: map[string]string{"site.yaml": `name: Maple
currancy: USD
address:
  stret: 1 Main St
settings:
  deposit: true
taxes:
  - id: state
    name: State tax
    rate: 8.875
    rat: 2
colour: "#ffffff"
`},
			want: []string{
				`site.yaml:2:1: unknown field "currancy" (did you mean "currency"?); known fields: address, base_url, color, cover, currency, description, email, icon, landing, locale, logo, name, payment_instructions, phone, settings, taxes, timezone, website`,
				`site.yaml:4:3: unknown field "stret" in address (did you mean "street"?); known fields: city, country, label, postal_code, region, street, street2`,
				`site.yaml:6:3: unknown field "deposit" in settings (did you mean "deposits"?); known fields: autopay, change_requests, deposits, hub, minimum_payment, online_payments, requests, require_signature, save_cards, subscriptions`,
				`site.yaml:11:5: unknown field "rat" in taxes[1] (did you mean "rate"?); known fields: id, name, rate`,
				`site.yaml:12:1: unknown field "colour" (did you mean "color"?); known fields: address, base_url, color, cover, currency, description, email, icon, landing, locale, logo, name, payment_instructions, phone, settings, taxes, timezone, website`,
			},
		},
		{
			name:  "unknown field without a close name",
			files: map[string]string{"site.yaml": "name: Maple\nfavourite_food: pie\n"},
			want:  []string{`site.yaml:2:1: unknown field "favourite_food"; known fields: address, base_url, color, cover, currency, description, email, icon, landing, locale, logo, name, payment_instructions, phone, settings, taxes, timezone, website`},
		},
		{
			name:  "wrong type: list for text",
			files: map[string]string{"site.yaml": "name: Maple\nphone: [1, 2]\n"},
			want:  []string{"site.yaml:2:1: expected text, not a list"},
		},
		{
			name:  "wrong type: mapping for text",
			files: map[string]string{"site.yaml": "name: Maple\nemail:\n  a: b\n"},
			want:  []string{"site.yaml:3:3: expected text, not a mapping"},
		},
		{
			name:  "wrong type: text for a switch",
			files: map[string]string{"site.yaml": "name: Maple\nsettings:\n  hub: maybe\n"},
			want:  []string{`site.yaml:3:3: expected true or false, not the text "maybe"`},
		},
		{
			name:  "wrong type: list for a number",
			files: map[string]string{"site.yaml": "name: Maple\ntaxes:\n  - id: state\n    name: State\n    rate: [1]\n"},
			want:  []string{"site.yaml:5:5: a number must be a single value, not a list or mapping"},
		},
		{
			name:  "no business name",
			files: map[string]string{"site.yaml": "phone: 555-0100\n"},
			want:  []string{`site.yaml:1:1: the business has no name; add "name: ..."`},
		},
		{
			name: "every site.yaml value problem at once",
			files: map[string]string{"site.yaml": `name: "  "
currency: XYZ
locale: en_US
timezone: Mars/Olympus
color: red
email: "Bob <bob@example.com>"
website: example.com
base_url: https://hub.example.com/app
logo: ../logo.png
cover: missing.jpg
settings:
  minimum_payment: 10.005
`},
			want: []string{
				`site.yaml:1:1: the business has no name; add "name: ..."`,
				`site.yaml:2:11: unknown currency "XYZ"; supported: AUD, CAD, CHF, DKK, EUR, GBP, INR, JPY, KRW, MXN, NOK, NZD, SEK, USD, ZAR`,
				`site.yaml:3:9: unknown locale "en_US"; supported: de-DE, en-AU, en-CA, en-GB, en-IE, en-NZ, en-US, es-ES, fr-CA, fr-FR, nl-NL`,
				`site.yaml:4:11: unknown time zone "Mars/Olympus"; use an IANA name such as America/New_York`,
				`site.yaml:5:8: brand colour "red" must be written as #rrggbb`,
				`site.yaml:6:8: "Bob <bob@example.com>" is not an email address`,
				`site.yaml:7:10: "example.com" is not a web address; write it in full, starting with https://`,
				`site.yaml:8:11: base_url "https://hub.example.com/app" must be an http(s) origin such as https://hub.example.com, without a path`,
				`site.yaml:9:7: logo "../logo.png" must be a path inside the content folder`,
				`site.yaml:10:8: cover file "missing.jpg" not found in the content folder`,
				`site.yaml:12:20: minimum_payment: "10.005" has more than 2 digits after the decimal point`,
			},
		},
		{
			name: "base_url with a query, absolute logo, cover that is a folder",
			files: map[string]string{
				"site.yaml": "name: Maple\nbase_url: https://hub.example.com?x=1\nlogo: /etc/passwd\ncover: images\n",
				"images/":   "",
			},
			want: []string{
				`site.yaml:2:11: base_url "https://hub.example.com?x=1" must be an http(s) origin such as https://hub.example.com, without a path`,
				`site.yaml:3:7: logo "/etc/passwd" must be a path inside the content folder`,
				`site.yaml:4:8: cover file "images" not found in the content folder`,
			},
		},
		{
			name: "bad email domains",
			files: map[string]string{
				"site.yaml": "name: Maple\nemail: office@localhost\n",
			},
			want: []string{`site.yaml:2:8: "office@localhost" is not an email address`},
		},
		{
			name: "tax problems",
			files: map[string]string{"site.yaml": `name: Maple
taxes:
  - id: State
    name: S
    rate: 5
  - id: none
    name: N
    rate: 1
  - id: gst
    rate: abc
  - id: gst
    name: G2
  - id: hi
    name: H
    rate: 150
  - id: lo
    name: L
    rate: -1
  - name: No id
    rate: 1
  - id: precise
    name: P
    rate: 1.23456
`},
			want: []string{
				`site.yaml:3:9: tax id "State" must be lower-case letters, digits and hyphens (and not "none")`,
				`site.yaml:6:9: tax id "none" must be lower-case letters, digits and hyphens (and not "none")`,
				`site.yaml:9:5: tax "gst" has no name; it is printed on documents`,
				`site.yaml:10:11: tax rate: "abc" is not a number`,
				`site.yaml:11:5: tax "gst" has no rate; add "rate: 8.25" (a percentage)`,
				`site.yaml:11:9: duplicate tax id "gst"`,
				`site.yaml:15:11: tax rate 150% must be between 0 and 100`,
				`site.yaml:18:11: tax rate -1% must be between 0 and 100`,
				// No id: reported where the id would be, the start of the entry.
				`site.yaml:19:5: tax id "" must be lower-case letters, digits and hyphens (and not "none")`,
				`site.yaml:23:11: tax rate: "1.23456" has more than 4 digits after the decimal point`,
			},
		},

		// clients/
		{
			name: "clients/ entries",
			files: map[string]string{
				"clients/Bad_Name/client.yaml": bobClient,
				"clients/nofile/":              "",
				"clients/readme.txt":           "hello",
				"clients/.hidden/":             "",
				"clients/.DS_Store":            "",
			},
			want: []string{
				`clients/Bad_Name: client folder name "Bad_Name" is not a valid client ID: use lower-case letters, digits and hyphens, such as "bad-name" (it becomes the hub's URL /c/bad-name/)`,
				"clients/nofile: client folder has no client.yaml; every client needs one with at least a name and a contact",
				"clients/readme.txt: only folders belong in clients/: one folder per client, named by the client's ID",
			},
		},
		{
			name: "clients is a file",
			files: map[string]string{
				"clients/acme/client.yaml": absent,
				"clients":                  "oops",
			},
			want: []string{"clients: not a directory"},
		},
		{
			name: "files where folders belong, and the reverse",
			files: map[string]string{
				"clients/acme/quotes":                    "not a folder",
				"portals":                                "not a folder",
				"clients/acme/portals/kitchen/portal.md": validPortal,
				"clients/acme/portals/kitchen/updates":   "not a folder",
			},
			setup: func(t *testing.T, dir string) {
				f := filepath.Join(dir, "clients", "acme", "client.yaml")
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(f, 0o755); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{
				"clients/acme/client.yaml: is a directory",
				"clients/acme/portals/kitchen/updates: not a directory",
				"clients/acme/quotes: not a directory",
				"portals: not a directory",
			},
		},
		{
			name: "client problems",
			files: map[string]string{"clients/acme/client.yaml": `name: " "
language: english
contacts:
  - name: Ana
    email: ana@example.com
  - email: ANA@Example.com
  - name: Bob
  - name: Cy
    email: "Cy <cy@example.com>"
  - name: Di
    email: di@localhost
  - name: Ed
    email: not-an-email
  - name: Fe
    emial: fe@example.com
`},
			want: []string{
				`clients/acme/client.yaml:1:1: client has no name; add "name: ..."`,
				`clients/acme/client.yaml:2:11: language "english" must be a language code such as en or fr-CA`,
				"clients/acme/client.yaml:6:5: contact 2 has no name",
				`clients/acme/client.yaml:6:12: email "ANA@Example.com" is listed twice for this client`,
				"clients/acme/client.yaml:7:5: contact 3 has no email; it is how they log in",
				`clients/acme/client.yaml:9:12: "Cy <cy@example.com>" is not an email address`,
				`clients/acme/client.yaml:11:12: "di@localhost" is not an email address`,
				`clients/acme/client.yaml:13:12: "not-an-email" is not an email address`,
				"clients/acme/client.yaml:14:5: contact 7 has no email; it is how they log in",
				`clients/acme/client.yaml:15:5: unknown field "emial" in contacts[7] (did you mean "email"?); known fields: email, name, phone`,
			},
		},
		{
			name:  "client without contacts",
			files: map[string]string{"clients/acme/client.yaml": "name: Ana\n"},
			want:  []string{`clients/acme/client.yaml:1:1: client has no contacts; add at least one under "contacts:" with a name and an email, so they can log in`},
		},
		{
			name: "unknown fields in nested client parts",
			files: map[string]string{"clients/acme/client.yaml": `name: Ana
contacts:
  - name: Ana
    email: ana@example.com
    phon: 555
billing_address:
  zip: 12345
properties:
  - street: 1 Main St
  - sreet: 2 Main St
`},
			want: []string{
				`clients/acme/client.yaml:5:5: unknown field "phon" in contacts[1] (did you mean "phone"?); known fields: email, name, phone`,
				`clients/acme/client.yaml:7:3: unknown field "zip" in billing_address; known fields: city, country, label, postal_code, region, street, street2`,
				`clients/acme/client.yaml:10:5: unknown field "sreet" in properties[2] (did you mean "street"?); known fields: city, country, label, postal_code, region, street, street2`,
			},
		},
		{
			name: "unexpected entries in quotes/ and invoices/",
			files: map[string]string{
				"clients/acme/quotes/sub/":        "",
				"clients/acme/quotes/notes.txt":   "",
				"clients/acme/quotes/.gitkeep":    "",
				"clients/acme/invoices/i-1.json":  "{}",
				"clients/acme/quotes/q-1.yml":     validQuote, // .yml is fine
				"clients/acme/invoices/.DS_Store": "",
			},
			want: []string{
				"clients/acme/invoices/i-1.json: unexpected file; this folder holds only .yaml files",
				"clients/acme/quotes/notes.txt: unexpected file; this folder holds only .yaml files",
				"clients/acme/quotes/sub: unexpected folder; this folder holds only .yaml files",
			},
		},

		// quotes
		{
			name:  "empty quote",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": ""},
			want:  []string{"clients/acme/quotes/q-1.yaml:1:1: file is empty"},
		},
		{
			name: "quote missing everything",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": `notes: Nothing else yet.
`},
			want: []string{
				`clients/acme/quotes/q-1.yaml:1:1: no line items; add at least one under "lines:"`,
				`clients/acme/quotes/q-1.yaml:1:1: quote has no issue date; add "issued: YYYY-MM-DD"`,
				`clients/acme/quotes/q-1.yaml:1:1: quote has no number; add "number: ..."`,
				`clients/acme/quotes/q-1.yaml:1:1: quote has no status; add "status:" with one of ` + quoteStatuses,
				`clients/acme/quotes/q-1.yaml:1:1: quote has no title; add "title: ..."`,
			},
		},
		{
			name: "quote value problems",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": `number: "Q 1/2"
title: Kitchen
status: sent
issued: 2026-13-01
valid_until: 2026-10-01
property: 2
tax: vat
lines:
  - name: ""
    quantity: 0
    unit_price: 10.005
    tax: hst
  - name: B
    quantity: abc
  - name: C
    unit_price: 1
    quantity: -1
  - name: D
    unit_price: 1
    quantity: 1.23456
  - name: E
    unit_price: $5
discounts:
  - description: x
  - percent: 10
    amount: 5
  - percent: 150
  - percent: abc
  - amount: 0
  - amount: 1.001
  - percent: 0
  - amount: -3
deposit:
  percent: 10
  amount: 5
`},
			want: []string{
				`clients/acme/quotes/q-1.yaml:1:9: quote number "Q 1/2" may hold only letters, digits, '.', '_' and '-' (it becomes part of the URL)`,
				`clients/acme/quotes/q-1.yaml:3:9: unknown quote status "sent"; use one of ` + quoteStatuses,
				`clients/acme/quotes/q-1.yaml:4:9: issued: "2026-13-01" is not a date; there is no month 13 (write it as YYYY-MM-DD, the month second)`,
				"clients/acme/quotes/q-1.yaml:6:11: property 2 does not exist; the client has 1 properties (counting from 1)",
				`clients/acme/quotes/q-1.yaml:7:6: unknown tax "vat"; define it under taxes: in site.yaml`,
				"clients/acme/quotes/q-1.yaml:9:5: line 1 has no name",
				"clients/acme/quotes/q-1.yaml:10:15: quantity must be more than 0",
				`clients/acme/quotes/q-1.yaml:11:17: unit_price: "10.005" has more than 2 digits after the decimal point`,
				`clients/acme/quotes/q-1.yaml:12:10: unknown tax "hst"; define it under taxes: in site.yaml, or write none`,
				"clients/acme/quotes/q-1.yaml:13:5: line 2 has no unit_price",
				`clients/acme/quotes/q-1.yaml:14:15: quantity: "abc" is not a number`,
				"clients/acme/quotes/q-1.yaml:17:15: quantity must be more than 0",
				`clients/acme/quotes/q-1.yaml:20:15: quantity: "1.23456" has more than 4 digits after the decimal point`,
				`clients/acme/quotes/q-1.yaml:22:17: unit_price: "$5" is not a number: write amounts without the currency sign, like 5`,
				`clients/acme/quotes/q-1.yaml:24:5: discount needs "percent: 10" or "amount: 50.00"`,
				"clients/acme/quotes/q-1.yaml:25:5: discount has both percent and amount; keep one",
				"clients/acme/quotes/q-1.yaml:27:14: discount percent 150 must be more than 0 and at most 100",
				`clients/acme/quotes/q-1.yaml:28:14: discount percent: "abc" is not a number`,
				"clients/acme/quotes/q-1.yaml:29:13: discount amount must be more than 0",
				`clients/acme/quotes/q-1.yaml:30:13: discount amount: "1.001" has more than 2 digits after the decimal point`,
				"clients/acme/quotes/q-1.yaml:31:14: discount percent 0 must be more than 0 and at most 100",
				"clients/acme/quotes/q-1.yaml:32:13: discount amount must be more than 0",
				"clients/acme/quotes/q-1.yaml:33:1: deposit has both percent and amount; keep one",
			},
		},
		{
			name: "quote valid_until before issued, property 0",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": `number: Q-1
title: Kitchen
status: draft
issued: 2026-11-01
valid_until: 2026-10-01
property: 0
lines:
  - name: A
    unit_price: 100
`},
			want: []string{
				"clients/acme/quotes/q-1.yaml:5:14: valid_until 2026-10-01 is before the issue date 2026-11-01",
				"clients/acme/quotes/q-1.yaml:6:11: property 0 does not exist; the client has 1 properties (counting from 1)",
			},
		},
		{
			name: "quote status past_due has no hint",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": strings.Replace(validQuote,
				"status: awaiting_response", "status: past_due", 1)},
			want: []string{`clients/acme/quotes/q-1.yaml:3:9: unknown quote status "past_due"; use one of ` + quoteStatuses},
		},
		{
			name: "quote unknown fields",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": validQuote + `  - name: Extra
    price: 5
    unit_price: 5
discount:
  - percent: 5
deposit:
  percentage: 10
`},
			want: []string{
				`clients/acme/quotes/q-1.yaml:12:5: unknown field "price" in lines[2]; known fields: description, name, optional, quantity, selected, tax, unit, unit_price`,
				`clients/acme/quotes/q-1.yaml:14:1: unknown field "discount" (did you mean "discounts"?); known fields: deposit, discounts, issued, lines, notes, number, portal, property, request, status, tax, terms, title, valid_until`,
				`clients/acme/quotes/q-1.yaml:16:1: deposit needs "percent: 25" or "amount: 500.00"`,
				`clients/acme/quotes/q-1.yaml:17:3: unknown field "percentage" in deposit; known fields: amount, percent`,
			},
		},
		{
			name: "quote wrong types that do not cascade",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": validQuote + `    optional: 3
notes: [a]
`},
			want: []string{
				"clients/acme/quotes/q-1.yaml:11:5: expected true or false, not the number 3",
				"clients/acme/quotes/q-1.yaml:12:1: expected text, not a list",
			},
		},
		{
			// A value of the wrong type makes the file unusable: it is not
			// checked further, so there is one problem, not a cascade.
			name:  "quote duplicate key",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": "number: Q-1\n" + validQuote},
			want:  []string{`clients/acme/quotes/q-1.yaml:2:1: mapping key "number" already defined at line 1`},
		},
		{
			name:  "quote list for a required text field",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": strings.Replace(validQuote, "number: Q-1", "number: [Q, 1]", 1)},
			want:  []string{"clients/acme/quotes/q-1.yaml:1:1: expected text, not a list"},
		},
		{
			name:  "quote text for property",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": validQuote + "property: abc\n"},
			want:  []string{`clients/acme/quotes/q-1.yaml:11:1: expected a whole number, not the text "abc"`},
		},
		{
			name:  "quote mapping for unit_price",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": strings.Replace(validQuote, "unit_price: 500.00", "unit_price: {usd: 500}", 1)},
			want:  []string{"clients/acme/quotes/q-1.yaml:10:5: an amount must be a single value, not a list or mapping"},
		},
		{
			name:  "quote list for a date",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": strings.Replace(validQuote, "issued: 2026-11-01", "issued: [2026-11-01]", 1)},
			want:  []string{"clients/acme/quotes/q-1.yaml:4:1: a date must be a single value, not a list or mapping"},
		},
		{
			name: "quote totals overflow",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": `number: Q-1
title: Kitchen
status: draft
issued: 2026-11-01
lines:
  - name: A
    unit_price: 90000000000000000.00
    quantity: 2
`},
			want: []string{"clients/acme/quotes/q-1.yaml:5:1: totals cannot be computed: line 1: amount too large"},
		},
		{
			name: "quote subtotal overflow",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": `number: Q-1
title: Kitchen
status: draft
issued: 2026-11-01
lines:
  - name: A
    unit_price: 90000000000000000.00
  - name: B
    unit_price: 90000000000000000.00
`},
			want: []string{"clients/acme/quotes/q-1.yaml:5:1: totals cannot be computed: amount too large"},
		},
		{
			name: "discounts over the subtotal when an optional line is left out",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": `number: Q-1
title: Kitchen
status: awaiting_response
issued: 2026-11-01
lines:
  - name: A
    unit_price: 100
  - name: Lights
    unit_price: 100
    optional: true
    selected: true
discounts:
  - amount: 150
`},
			want: []string{"clients/acme/quotes/q-1.yaml:5:1: with no optional line chosen, totals cannot be computed: the discounts ($150.00) add up to more than the subtotal ($100.00); a client may approve the quote that way, so correct the lines or the discounts"},
		},
		{
			name: "amounts overflow when every optional line is chosen",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": `number: Q-1
title: Kitchen
status: awaiting_response
issued: 2026-11-01
lines:
  - name: A
    unit_price: 90000000000000000.00
  - name: Bench
    unit_price: 90000000000000000.00
    optional: true
`},
			want: []string{`clients/acme/quotes/q-1.yaml:5:1: with the optional lines chosen being "Bench", totals cannot be computed: amount too large; a client may approve the quote that way, so correct the lines or the discounts`},
		},
		{
			name: "discounts over the subtotal",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": `number: Q-1
title: Kitchen
status: draft
issued: 2026-11-01
lines:
  - name: A
    unit_price: 100
discounts:
  - amount: 60
  - percent: 50
`},
			// 60.00 + 50% of 100.00 = 110.00 > 100.00
			want: []string{"clients/acme/quotes/q-1.yaml:5:1: totals cannot be computed: the discounts ($110.00) add up to more than the subtotal ($100.00)"},
		},

		// deposits
		{
			name:  "deposit percent 0",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": validQuote + "deposit:\n  percent: 0\n"},
			want:  []string{"clients/acme/quotes/q-1.yaml:12:12: deposit percent 0 must be more than 0 and at most 100"},
		},
		{
			name:  "deposit percent over 100",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": validQuote + "deposit:\n  percent: 100.5\n"},
			want:  []string{"clients/acme/quotes/q-1.yaml:12:12: deposit percent 100.5 must be more than 0 and at most 100"},
		},
		{
			name:  "deposit percent not a number",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": validQuote + "deposit:\n  percent: 25%\n"},
			want:  []string{`clients/acme/quotes/q-1.yaml:12:12: deposit percent: "25%" is not a number`},
		},
		{
			name:  "deposit amount 0",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": validQuote + "deposit:\n  amount: 0\n"},
			want:  []string{"clients/acme/quotes/q-1.yaml:12:11: deposit amount must be more than 0"},
		},
		{
			name:  "deposit amount too precise",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": validQuote + "deposit:\n  amount: 1.001\n"},
			want:  []string{`clients/acme/quotes/q-1.yaml:12:11: deposit amount: "1.001" has more than 2 digits after the decimal point`},
		},
		{
			name:  "deposit amount over the total",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": validQuote + "deposit:\n  amount: 1088.76\n"},
			// 2 × 500.00 = 1000.00, + 8.875% tax = 88.75, total 1088.75.
			want: []string{"clients/acme/quotes/q-1.yaml:12:11: deposit 1088.76 is more than the quote's total $1,088.75"},
		},
		{
			name:  "deposit without percent or amount",
			files: map[string]string{"clients/acme/quotes/q-1.yaml": validQuote + "deposit: {}\n"},
			want:  []string{`clients/acme/quotes/q-1.yaml:11:1: deposit needs "percent: 25" or "amount: 500.00"`},
		},
		{
			name:  "autopay without saving cards",
			files: map[string]string{"site.yaml": "name: Maple\nsettings:\n  save_cards: false\n  autopay: true\n"},
			want:  []string{"site.yaml:4:12: autopay: true charges the cards clients save, but save_cards is false; turn save_cards on or set autopay: false"},
		},
		{
			name:  "saving cards without paying online",
			files: map[string]string{"site.yaml": "name: Maple\nsettings:\n  online_payments: false\n  save_cards: true\n"},
			want:  []string{"site.yaml:4:15: save_cards: true needs paying online, which is off (online_payments: false); turn online_payments on or leave save_cards out"},
		},
		{
			name:  "autopay without paying online",
			files: map[string]string{"site.yaml": "name: Maple\nsettings:\n  online_payments: false\n  autopay: true\n"},
			want:  []string{"site.yaml:4:12: autopay: true needs paying online, which is off (online_payments: false); turn online_payments on or leave autopay out"},
		},
		{
			name:  "every billing switch off",
			files: map[string]string{"site.yaml": "name: Maple\nsettings:\n  online_payments: false\n  save_cards: false\n  autopay: false\n  subscriptions: false\n"},
		},
		{
			name: "deposits turned off",
			files: map[string]string{
				"site.yaml":                    "name: Maple\nsettings:\n  deposits: false\n",
				"clients/acme/quotes/q-1.yaml": strings.Replace(validQuote, "tax: state\n", "", 1) + "deposit:\n  percent: 25\n",
			},
			want: []string{"clients/acme/quotes/q-1.yaml:10:1: this quote asks for a deposit, but deposits are turned off in site.yaml (settings.deposits)"},
		},

		// invoices
		{
			name: "invoice missing everything",
			files: map[string]string{"clients/acme/invoices/i-1.yaml": `notes: Thanks
`},
			want: []string{
				`clients/acme/invoices/i-1.yaml:1:1: invoice has no due date; add "due: YYYY-MM-DD"`,
				`clients/acme/invoices/i-1.yaml:1:1: invoice has no issue date; add "issued: YYYY-MM-DD"`,
				`clients/acme/invoices/i-1.yaml:1:1: invoice has no number; add "number: ..."`,
				`clients/acme/invoices/i-1.yaml:1:1: invoice has no status; add "status:" with one of draft, awaiting_payment, paid, bad_debt`,
				`clients/acme/invoices/i-1.yaml:1:1: invoice has no subject; add "subject: ..."`,
				`clients/acme/invoices/i-1.yaml:1:1: no line items; add at least one under "lines:"`,
			},
		},
		{
			name: "invoice problems",
			files: map[string]string{"clients/acme/invoices/i-1.yaml": `number: I-1
status: past_due
issued: 2026-11-10
due: 2026-11-01
lines:
  - name: A
    unit_price: 100
    optional: true
  - name: B
    unit_price: 50
    selected: true
payments:
  - amount: 10
    method: cash
  - date: 2026-11-02
  - date: 2026-02-30
    amount: -5
    method: card
  - date: 2026-11-02
    amount: 1.001
    method: card
`},
			want: []string{
				`clients/acme/invoices/i-1.yaml:1:1: invoice has no subject; add "subject: ..."`,
				`clients/acme/invoices/i-1.yaml:2:9: unknown invoice status "past_due"; use one of draft, awaiting_payment, paid, bad_debt (past due is worked out from the due date)`,
				"clients/acme/invoices/i-1.yaml:4:6: due date 2026-11-01 is before the issue date 2026-11-10",
				"clients/acme/invoices/i-1.yaml:8:15: only quotes have optional lines",
				"clients/acme/invoices/i-1.yaml:11:15: selected applies only to optional lines",
				`clients/acme/invoices/i-1.yaml:13:5: payment has no date; add "date: YYYY-MM-DD"`,
				"clients/acme/invoices/i-1.yaml:15:5: payment 2 has no amount",
				"clients/acme/invoices/i-1.yaml:15:5: payment 2 has no method (check, cash, bank transfer, card...)",
				`clients/acme/invoices/i-1.yaml:16:11: "2026-02-30" is not a date; February 2026 has 28 days`,
				"clients/acme/invoices/i-1.yaml:17:13: payment amount must be more than 0",
				`clients/acme/invoices/i-1.yaml:20:13: payment amount: "1.001" has more than 2 digits after the decimal point`,
			},
		},
		{
			name: "invoice unknown status and bad dates",
			files: map[string]string{"clients/acme/invoices/i-1.yaml": `number: I-1
subject: S
status: unpaid
issued: 11/01/2026
due: 2026-11-1
lines:
  - name: A
    unit_price: 100
`},
			want: []string{
				`clients/acme/invoices/i-1.yaml:3:9: unknown invoice status "unpaid"; use one of draft, awaiting_payment, paid, bad_debt`,
				`clients/acme/invoices/i-1.yaml:4:9: issued: "11/01/2026" is not a date; write it as YYYY-MM-DD`,
				`clients/acme/invoices/i-1.yaml:5:6: due: "2026-11-1" is not a date; write it as YYYY-MM-DD`,
			},
		},
		{
			name: "payments over the total",
			files: map[string]string{"clients/acme/invoices/i-1.yaml": validInvoice + `payments:
  - date: 2026-11-02
    amount: 60
    method: cash
  - date: 2026-11-03
    amount: 40.01
    method: card
`},
			want: []string{"clients/acme/invoices/i-1.yaml:9:1: payments add up to $100.01, more than the invoice total $100.00"},
		},
		{
			name:  "invoice discounts over the subtotal",
			files: map[string]string{"clients/acme/invoices/i-1.yaml": validInvoice + "discounts:\n  - amount: 100.01\n"},
			want:  []string{"clients/acme/invoices/i-1.yaml:6:1: totals cannot be computed: the discounts ($100.01) add up to more than the subtotal ($100.00)"},
		},
		{
			name: "invoice quote does not exist",
			files: map[string]string{
				"clients/acme/quotes/q-1.yaml":   validQuote,
				"clients/acme/invoices/i-1.yaml": validInvoice + "quote: Q-9\n",
			},
			want: []string{`clients/acme/invoices/i-1.yaml:9:8: quote "Q-9" is not one of this client's quotes (in {dir}/clients/acme/quotes)`},
		},
		{
			name: "invoice names a quote of another client",
			files: map[string]string{
				"clients/bob/client.yaml":        bobClient,
				"clients/bob/quotes/q-1.yaml":    validQuote,
				"clients/acme/invoices/i-1.yaml": validInvoice + "quote: Q-1\n",
			},
			want: []string{`clients/acme/invoices/i-1.yaml:9:8: quote "Q-1" is not one of this client's quotes (in {dir}/clients/acme/quotes)`},
		},

		// numbers across the site
		{
			name: "duplicate numbers across clients, ignoring case",
			files: map[string]string{
				"clients/acme/quotes/q-1.yaml":   validQuote,
				"clients/acme/invoices/i-1.yaml": validInvoice,
				"clients/bob/client.yaml":        bobClient,
				"clients/bob/quotes/q.yaml":      strings.Replace(validQuote, "number: Q-1", "number: q-1", 1),
				"clients/bob/invoices/i.yaml":    strings.Replace(validInvoice, "number: I-1", "number: i-1", 1),
			},
			want: []string{
				`clients/acme/invoices/i-1.yaml:1:9: number "I-1" is also used by {dir}/clients/bob/invoices/i.yaml; quote and invoice numbers must be unique: change one of them`,
				`clients/acme/quotes/q-1.yaml:1:9: number "Q-1" is also used by {dir}/clients/bob/quotes/q.yaml; quote and invoice numbers must be unique: change one of them`,
				`clients/bob/invoices/i.yaml:1:9: number "i-1" is also used by {dir}/clients/acme/invoices/i-1.yaml; quote and invoice numbers must be unique: change one of them`,
				`clients/bob/quotes/q.yaml:1:9: number "q-1" is also used by {dir}/clients/acme/quotes/q-1.yaml; quote and invoice numbers must be unique: change one of them`,
			},
		},
		{
			name: "a quote and an invoice share a number",
			files: map[string]string{
				"clients/acme/quotes/q-1.yaml":   validQuote,
				"clients/acme/invoices/i-1.yaml": strings.Replace(validInvoice, "number: I-1", "number: Q-1", 1),
			},
			want: []string{
				`clients/acme/invoices/i-1.yaml:1:9: number "Q-1" is also used by {dir}/clients/acme/quotes/q-1.yaml; quote and invoice numbers must be unique: change one of them`,
				`clients/acme/quotes/q-1.yaml:1:9: number "Q-1" is also used by {dir}/clients/acme/invoices/i-1.yaml; quote and invoice numbers must be unique: change one of them`,
			},
		},
		{
			name: "a number used three times",
			files: map[string]string{
				"clients/acme/quotes/a.yaml": validQuote,
				"clients/acme/quotes/b.yaml": validQuote,
				"clients/acme/quotes/c.yaml": validQuote,
			},
			want: []string{
				`clients/acme/quotes/a.yaml:1:9: number "Q-1" is also used by {dir}/clients/acme/quotes/b.yaml and {dir}/clients/acme/quotes/c.yaml; quote and invoice numbers must be unique: change one of them`,
				`clients/acme/quotes/b.yaml:1:9: number "Q-1" is also used by {dir}/clients/acme/quotes/a.yaml and {dir}/clients/acme/quotes/c.yaml; quote and invoice numbers must be unique: change one of them`,
				`clients/acme/quotes/c.yaml:1:9: number "Q-1" is also used by {dir}/clients/acme/quotes/a.yaml and {dir}/clients/acme/quotes/b.yaml; quote and invoice numbers must be unique: change one of them`,
			},
		},

		// portals
		{
			name: "portal problems",
			files: map[string]string{"clients/acme/portals/kitchen/portal.md": `---
title: ""
kind: shared
cover: missing.jpg
order: 3
links:
  - url: ftp://example.com/plans
  - title: Plans
  - title: Ok
    url: https://example.com
  - title: Mail
    url: mailto:ana@example.com
embeds:
  - title: Video
  - url: http://youtube.com/watch?v=dQw4w9WgXcQ
  - url: https://evil.example.com/x
  - url: https://www.youtube.com/watch
  - url: javascript:alert(1)
colour: red
---
body
`},
			want: []string{
				`clients/acme/portals/kitchen/portal.md:2:1: portal has no title; add "title: ..." to its front matter`,
				`clients/acme/portals/kitchen/portal.md:3:7: unknown portal kind "shared"; use project or client (shared portals live in the top-level portals/ folder)`,
				`clients/acme/portals/kitchen/portal.md:4:8: cover image "missing.jpg" not found in {dir}/clients/acme/portals/kitchen`,
				"clients/acme/portals/kitchen/portal.md:7:5: link 1 has no title",
				`clients/acme/portals/kitchen/portal.md:7:10: "ftp://example.com/plans" is not a web address; write it in full, starting with https://`,
				"clients/acme/portals/kitchen/portal.md:8:5: link 2 has no url",
				"clients/acme/portals/kitchen/portal.md:14:5: embed 1 has no url",
				`clients/acme/portals/kitchen/portal.md:15:10: embed "http://youtube.com/watch?v=dQw4w9WgXcQ" must be an https link`,
				`clients/acme/portals/kitchen/portal.md:16:10: embed "https://evil.example.com/x" is not from an allowed provider or is not a link to one item; ` + allowedProviders,
				`clients/acme/portals/kitchen/portal.md:17:10: embed "https://www.youtube.com/watch" is not from an allowed provider or is not a link to one item; ` + allowedProviders,
				`clients/acme/portals/kitchen/portal.md:18:10: embed "javascript:alert(1)" must be an https link`,
				`clients/acme/portals/kitchen/portal.md:19:1: unknown field "colour"; known fields: cover, documents, embeds, kind, links, order, summary, title, uploads`,
			},
		},
		{
			name:  "portal wrong type",
			files: map[string]string{"clients/acme/portals/kitchen/portal.md": "---\ntitle: \"\"\norder: abc\n---\n"},
			want:  []string{`clients/acme/portals/kitchen/portal.md:3:1: expected a whole number, not the text "abc"`},
		},
		{
			name: "portal cover outside its folder",
			files: map[string]string{
				"clients/acme/portals/kitchen/portal.md": "---\ntitle: T\ncover: ../cover.jpg\n---\n",
				"clients/acme/portals/cover.jpg":         "jpg",
			},
			want: []string{
				`clients/acme/portals/cover.jpg: only folders belong in portals/: one folder per portal, holding portal.md`,
				`clients/acme/portals/kitchen/portal.md:3:8: cover "../cover.jpg" must be a file in the portal's folder`,
			},
		},
		{
			name:  "portal cover hidden file",
			files: map[string]string{"clients/acme/portals/kitchen/portal.md": "---\ntitle: T\ncover: .cover.jpg\n---\n", "clients/acme/portals/kitchen/.cover.jpg": "x"},
			want:  []string{`clients/acme/portals/kitchen/portal.md:3:8: cover ".cover.jpg" must be a file in the portal's folder`},
		},
		{
			name:  "front matter not closed",
			files: map[string]string{"clients/acme/portals/kitchen/portal.md": "---\ntitle: T\n\nBody without a closing line.\n"},
			want:  []string{`clients/acme/portals/kitchen/portal.md:1:1: front matter starts with "---" but has no closing "---" line`},
		},
		{
			name:  "front matter is only an opening line",
			files: map[string]string{"clients/acme/portals/kitchen/portal.md": "---\n"},
			want:  []string{`clients/acme/portals/kitchen/portal.md:1:1: front matter starts with "---" but has no closing "---" line`},
		},
		{
			name:  "front matter missing",
			files: map[string]string{"clients/acme/portals/kitchen/portal.md": "# Kitchen\n\nNo front matter.\n"},
			want:  []string{`clients/acme/portals/kitchen/portal.md:1:1: missing front matter: start the file with "---", the fields (title: ...), and "---"`},
		},
		{
			name:  "empty portal.md",
			files: map[string]string{"clients/acme/portals/kitchen/portal.md": ""},
			want:  []string{`clients/acme/portals/kitchen/portal.md:1:1: missing front matter: start the file with "---", the fields (title: ...), and "---"`},
		},
		{
			name:  "front matter empty",
			files: map[string]string{"clients/acme/portals/kitchen/portal.md": "---\n---\nBody\n"},
			want:  []string{`clients/acme/portals/kitchen/portal.md:1:1: portal has no title; add "title: ..." to its front matter`},
		},
		{
			name:  "front matter is a list",
			files: map[string]string{"clients/acme/portals/kitchen/portal.md": "---\n- a\n---\nBody\n"},
			want:  []string{"clients/acme/portals/kitchen/portal.md:2:1: expected a mapping of fields (name: value)"},
		},
		{
			name:  "front matter syntax error is reported on its line in the file",
			files: map[string]string{"clients/acme/portals/kitchen/portal.md": "---\ntitle: T\nsummary: a: b\n---\n"},
			want:  []string{"clients/acme/portals/kitchen/portal.md:3:1: mapping values are not allowed in this context"},
		},
		{
			name: "a document title for a file that is not there",
			files: map[string]string{
				"clients/acme/portals/kitchen/portal.md":          "---\ntitle: T\ndocuments:\n  plan.pdf: The plan\n  Plans/gone.pdf: Gone\n---\n",
				"clients/acme/portals/kitchen/documents/plan.pdf": "%PDF-",
			},
			want: []string{`clients/acme/portals/kitchen/portal.md:5:3: no document "Plans/gone.pdf" below documents/; name a file by its path there, e.g. Plans/plan.pdf`},
		},
		{
			name:  "front matter with CRLF and a BOM",
			files: map[string]string{"clients/acme/portals/kitchen/portal.md": "\ufeff---\r\ntitle: T\r\nsumary: x\r\n---\r\nBody\r\n"},
			want:  []string{`clients/acme/portals/kitchen/portal.md:3:1: unknown field "sumary" (did you mean "summary"?); known fields: cover, documents, embeds, kind, links, order, summary, title, uploads`},
		},
		{
			name: "portal folders",
			files: map[string]string{
				"clients/acme/portals/Kitchen/portal.md": validPortal,
				"clients/acme/portals/empty/":            "",
				"clients/acme/portals/notes.md":          "x",
			},
			want: []string{
				`clients/acme/portals/Kitchen: portal folder name "Kitchen" is not valid: use lower-case letters, digits and hyphens (it becomes part of the URL)`,
				"clients/acme/portals/empty: portal folder has no portal.md; add one with front matter (title: ...) and Markdown notes",
				"clients/acme/portals/notes.md: only folders belong in portals/: one folder per portal, holding portal.md",
			},
		},
		{
			name: "shared portals have no kind",
			files: map[string]string{
				"portals/help/portal.md":  "---\ntitle: Help\nkind: client\n---\n",
				"portals/terms/portal.md": "---\ntitle: Terms\nkind: project\n---\n",
				"portals/faq/portal.md":   "---\ntitle: FAQ\nkind: other\n---\n",
			},
			want: []string{
				`portals/faq/portal.md:3:7: unknown portal kind "other"; use project or client (shared portals live in the top-level portals/ folder)`,
				"portals/help/portal.md:3:7: shared portals (in portals/ at the top of the content folder) have no kind; remove it",
				"portals/terms/portal.md:3:7: shared portals (in portals/ at the top of the content folder) have no kind; remove it",
			},
		},

		{
			name: "uploads: a client's own portals only, and a yes or no",
			files: map[string]string{
				"portals/help/portal.md":                 "---\ntitle: Help\nuploads: true\n---\n",
				"clients/acme/portals/kitchen/portal.md": "---\ntitle: Kitchen\nuploads: please\n---\n",
				"clients/acme/portals/garden/portal.md":  "---\ntitle: Garden\nuploads: true\n---\n",
			},
			want: []string{
				`clients/acme/portals/kitchen/portal.md:3:1: expected true or false, not the text "please"`,
				"portals/help/portal.md:3:10: shared portals cannot take uploads (every client sees them); remove it, or set it on a client's own portal",
			},
		},

		// updates
		{
			name: "update problems",
			files: map[string]string{
				"clients/acme/portals/kitchen/portal.md":         validPortal,
				"clients/acme/portals/kitchen/updates/a.md":      "---\ndate: 2026-13-01\n---\n",
				"clients/acme/portals/kitchen/updates/b.md":      "---\ntitle: No date\n---\n",
				"clients/acme/portals/kitchen/updates/c.txt":     "x",
				"clients/acme/portals/kitchen/updates/sub/":      "",
				"clients/acme/portals/kitchen/updates/d.md":      "No front matter\n",
				"clients/acme/portals/kitchen/updates/e.md":      "---\ntitle: Unclosed\n",
				"clients/acme/portals/kitchen/updates/f.md":      "---\ntitle: T\ndate: 2026-11-02\nauthor: Me\n---\n",
				"clients/acme/portals/kitchen/updates/.draft.md": "ignored",
			},
			want: []string{
				`clients/acme/portals/kitchen/updates/a.md:2:1: update has no title; add "title: ..." to its front matter`,
				`clients/acme/portals/kitchen/updates/a.md:2:7: "2026-13-01" is not a date; there is no month 13 (write it as YYYY-MM-DD, the month second)`,
				`clients/acme/portals/kitchen/updates/b.md:2:1: update has no date; add "date: YYYY-MM-DD" to its front matter`,
				"clients/acme/portals/kitchen/updates/c.txt: unexpected entry; updates/ holds one Markdown file per update",
				`clients/acme/portals/kitchen/updates/d.md:1:1: missing front matter: start the file with "---", the fields (title: ...), and "---"`,
				`clients/acme/portals/kitchen/updates/e.md:1:1: front matter starts with "---" but has no closing "---" line`,
				`clients/acme/portals/kitchen/updates/f.md:4:1: unknown field "author"; known fields: date, title`,
				"clients/acme/portals/kitchen/updates/sub: unexpected entry; updates/ holds one Markdown file per update",
			},
		},

		// documents
		{
			name: "document problems",
			files: map[string]string{
				"clients/acme/portals/kitchen/portal.md":                validPortal,
				"clients/acme/portals/kitchen/documents/a#b.pdf":        "x",
				"clients/acme/portals/kitchen/documents/plans/ok.pdf":   "x",
				"clients/acme/portals/kitchen/documents/.git/config":    "x",
				"clients/acme/portals/kitchen/documents/.DS_Store":      "x",
				"clients/acme/portals/kitchen/documents/say \"hi\".txt": "x",
			},
			setup: func(t *testing.T, dir string) {
				docs := filepath.Join(dir, "clients", "acme", "portals", "kitchen", "documents")
				if err := os.Symlink("ok.pdf", filepath.Join(docs, "plans", "link.pdf")); err != nil {
					t.Skipf("symlinks unavailable: %v", err)
				}
				f, err := os.Create(filepath.Join(docs, "big.mov"))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				// Sparse: no data is written.
				if err := f.Truncate(site.MaxDocumentSize + 1<<20); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{
				`clients/acme/portals/kitchen/documents/a#b.pdf: document names may not contain ? # % \ " < or >`,
				"clients/acme/portals/kitchen/documents/big.mov: document is 101 MB; the largest allowed is 100 MB",
				"clients/acme/portals/kitchen/documents/plans/link.pdf: documents must be regular files (links and special files are not published)",
				`clients/acme/portals/kitchen/documents/say "hi".txt: document names may not contain ? # % \ " < or >`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeSiteFiles(t, dir, merge(baseSite(), tt.files))
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			_, ps := site.Load(dir, testNow)
			checkProblems(t, dir, ps, tt.want)
		})
	}
}

// TestLoadBugs holds cases where the loader's output was wrong (bug says
// how), kept as regression tests. Each want is what a person should see.
func TestLoadBugs(t *testing.T) {
	tests := []struct {
		name  string
		bug   string
		files map[string]string
		want  []string // every problem, exactly
		// someIn, when set, is a file that must have at least one problem
		// (the wording is left to whoever fixes the bug); want is not used.
		someIn string
	}{
		{
			name: "quote with a type error named by an invoice",
			bug:  `a quote file with a type error is dropped (readYAML returns nil), so an invoice naming it also gets "quote \"Q-1\" is not one of this client's quotes", a follow-on problem that goes away once the type is fixed`,
			files: map[string]string{
				"clients/acme/quotes/q-1.yaml":   validQuote + "notes: [a]\n",
				"clients/acme/invoices/i-1.yaml": validInvoice + "quote: Q-1\n",
			},
			want: []string{"clients/acme/quotes/q-1.yaml:11:1: expected text, not a list"},
		},
		{
			name:  "two documents and a bad quote reference",
			bug:   `refError re-decodes the invoice to place its problem, and that second decode appends "only one YAML document" again: the problem is listed twice`,
			files: map[string]string{"clients/acme/invoices/i-1.yaml": validInvoice + "quote: Q-9\n---\nx: 1\n"},
			want: []string{
				`clients/acme/invoices/i-1.yaml:9:8: quote "Q-9" is not one of this client's quotes (in {dir}/clients/acme/quotes)`,
				`clients/acme/invoices/i-1.yaml:10:1: only one YAML document is allowed per file (remove the second "---")`,
			},
		},
		{
			name: "two documents and a duplicate number",
			bug:  `numberDup re-decodes the file to place its problem, and that second decode appends "only one YAML document" again: the problem is listed twice`,
			files: map[string]string{
				"clients/acme/quotes/a.yaml": validQuote,
				"clients/acme/quotes/b.yaml": validQuote + "---\nx: 1\n",
			},
			want: []string{
				`clients/acme/quotes/a.yaml:1:9: number "Q-1" is also used by {dir}/clients/acme/quotes/b.yaml; quote and invoice numbers must be unique: change one of them`,
				`clients/acme/quotes/b.yaml:1:9: number "Q-1" is also used by {dir}/clients/acme/quotes/a.yaml; quote and invoice numbers must be unique: change one of them`,
				`clients/acme/quotes/b.yaml:11:1: only one YAML document is allowed per file (remove the second "---")`,
			},
		},
		{
			name:   "second document with a syntax error",
			bug:    "decode ignores the error of the second Decode, so a file whose second document does not parse loads without any problem",
			files:  map[string]string{"site.yaml": "name: Maple\n---\nphone: [\n"},
			someIn: "site.yaml",
		},
		{
			name:  "totals fail, deposit compared with a zero total",
			bug:   `when ComputeTotals fails, validateQuote still treats totals as known and adds "deposit 10 is more than the quote's total $0.00"`,
			files: map[string]string{"clients/acme/quotes/q-1.yaml": validQuote + "discounts:\n  - amount: 2000\ndeposit:\n  amount: 10\n"},
			want:  []string{"clients/acme/quotes/q-1.yaml:7:1: totals cannot be computed: the discounts ($2,000.00) add up to more than the subtotal ($1,000.00)"},
		},
		{
			name: "payments overflow",
			bug:  "validateInvoice adds payments with += and no overflow check: two payments of 50,000,000,000,000,000.00 wrap to a negative sum and no problem is reported",
			files: map[string]string{"clients/acme/invoices/i-1.yaml": validInvoice + `payments:
  - date: 2026-11-02
    amount: 50000000000000000.00
    method: cash
  - date: 2026-11-03
    amount: 50000000000000000.00
    method: card
`},
			someIn: "clients/acme/invoices/i-1.yaml",
		},
		{
			name: "documents is a file",
			bug:  `when a portal's documents/ is a file, WalkDir visits the file itself and loads it as a document named "documents" with Path "."; nothing is reported`,
			files: map[string]string{
				"clients/acme/portals/kitchen/portal.md": validPortal,
				"clients/acme/portals/kitchen/documents": "not a folder",
			},
			someIn: "clients/acme/portals/kitchen/documents",
		},
		{
			name: "logo name containing two dots",
			bug:  `checkAsset rejects any path containing "..", so "images/logo..v2.png" (inside the content folder) is reported as outside it`,
			files: map[string]string{
				"site.yaml":           "name: Maple\nlogo: images/logo..v2.png\n",
				"images/logo..v2.png": "png",
			},
			want: nil,
		},
		{
			name:  "second document with a syntax error, placed",
			bug:   "decode ignored the error of the second Decode",
			files: map[string]string{"site.yaml": "name: Maple\n# a comment\n--- # more\nphone: [\n"},
			want:  []string{`site.yaml:3:1: only one YAML document is allowed per file (remove the second "---")`},
		},
		{
			name: "quote with a syntax error named by an invoice",
			bug:  "a quote file that does not parse has no known number, so an invoice naming it cannot be said to be wrong",
			files: map[string]string{
				"clients/acme/quotes/q-1.yaml":   "number: [\n",
				"clients/acme/invoices/i-1.yaml": validInvoice + "quote: Q-1\n",
			},
			want: []string{"clients/acme/quotes/q-1.yaml:1:1: did not find expected node content"},
		},
		{
			name: "quote reference in another case",
			bug:  "numbers are compared without regard to case, but quote references were not",
			files: map[string]string{
				"clients/acme/quotes/q-1.yaml":   validQuote,
				"clients/acme/invoices/i-1.yaml": validInvoice + "quote: q-1\n",
			},
			want: nil,
		},
		{
			name:  "client folder name with letters that have no ASCII form",
			bug:   `the suggested URL was strings.ToLower of the name, itself not a valid ID; dropping "é" would mislead`,
			files: map[string]string{"clients/Café/client.yaml": bobClient},
			want:  []string{`clients/Café: client folder name "Café" is not a valid client ID: use lower-case letters, digits and hyphens (it becomes part of the hub's URL)`},
		},
		{
			name:  "payments overflow, worded",
			bug:   "validateInvoice added payments with += and no overflow check",
			files: map[string]string{"clients/acme/invoices/i-1.yaml": validInvoice + "payments:\n  - date: 2026-11-02\n    amount: 90000000000000000.00\n    method: cash\n  - date: 2026-11-03\n    amount: 90000000000000000.00\n    method: card\n"},
			want:  []string{"clients/acme/invoices/i-1.yaml:14:13: the payments add up to more than the largest amount supported ($92,233,720,368,547,758.07); check the amounts"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _, ps := loadSite(t, tt.files)
			if tt.someIn != "" {
				f := filepath.Join(dir, filepath.FromSlash(tt.someIn))
				if !slices.ContainsFunc(ps, func(p site.Problem) bool { return p.File == f }) {
					t.Errorf("Load reported no problem in %s; got %q", tt.someIn, ps.Error())
				}
				return
			}
			checkProblems(t, dir, ps, tt.want)
		})
	}
}

func TestLoadMessagesNameNoGoTypes(t *testing.T) {
	_, _, ps := loadSite(t, map[string]string{
		"clients/acme/quotes/q-1.yaml": strings.Replace(validQuote, "status: awaiting_response", "status: draft\noptional_lines: 3", 1) + "discounts: 5\n",
		"clients/acme/client.yaml":     "name: Ana\ncontacts: ana@example.com\n",
	})
	if len(ps) == 0 {
		t.Fatal("Load reported no problems")
	}
	for _, p := range ps {
		if strings.Contains(p.Msg, "site.") || strings.Contains(p.Msg, "!!") || strings.Contains(p.Msg, "[]") {
			t.Errorf("problem %q names a Go type or a YAML tag", p.Msg)
		}
	}
	want := []string{
		`expected a list (of contacts), not the text "ana@exa..."`,
		"expected a list (of discounts), not the number 5",
	}
	for _, w := range want {
		if !slices.ContainsFunc(ps, func(p site.Problem) bool { return p.Msg == w }) {
			t.Errorf("Load problems = %q; want one saying %q", ps.Error(), w)
		}
	}
}

func TestLoadDiscountMessageUsesMoney(t *testing.T) {
	_, _, ps := loadSite(t, map[string]string{
		"clients/acme/quotes/q-1.yaml": strings.Replace(validQuote, "tax: state\n", "", 1) + "discounts:\n  - amount: 1100\n",
	})
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, "$1,100.00") || !strings.Contains(ps[0].Msg, "$1,000.00") {
		t.Errorf("Load problems = %q; want one naming $1,100.00 and $1,000.00", ps.Error())
	}
}

// TestLoadReportsAllProblemsSorted checks that problems in many files are
// all reported in one Load, sorted by file, line, column and message.
func TestLoadReportsAllProblemsSorted(t *testing.T) {
	dir, _, ps := loadSite(t, map[string]string{
		// Three problems in one file: three lines.
		"clients/acme/quotes/q-1.yaml": `number: Q-1
title: Kitchen
status: sent
issued: 2026-11-31
lines:
  - name: A
    unit_price: 1.001
`,
		"clients/acme/invoices/i-1.yaml":         strings.Replace(validInvoice, "status: awaiting_payment", "status: late", 1),
		"clients/bob/client.yaml":                "name: Bob\n",
		"clients/acme/portals/kitchen/portal.md": "no front matter",
		"site.yaml":                              "name: Maple\ncolor: blue\ntaxes:\n  - id: state\n    name: State\n    rate: 8.875\n",
	})
	want := []string{
		`clients/acme/invoices/i-1.yaml:3:9: unknown invoice status "late"; use one of draft, awaiting_payment, paid, bad_debt`,
		`clients/acme/portals/kitchen/portal.md:1:1: missing front matter: start the file with "---", the fields (title: ...), and "---"`,
		`clients/acme/quotes/q-1.yaml:3:9: unknown quote status "sent"; use one of ` + quoteStatuses,
		`clients/acme/quotes/q-1.yaml:4:9: issued: "2026-11-31" is not a date; November has 30 days`,
		`clients/acme/quotes/q-1.yaml:7:17: unit_price: "1.001" has more than 2 digits after the decimal point`,
		`clients/bob/client.yaml:1:1: client has no contacts; add at least one under "contacts:" with a name and an email, so they can log in`,
		`site.yaml:2:8: brand colour "blue" must be written as #rrggbb`,
	}
	checkProblems(t, dir, ps, want)
	if !slices.IsSortedFunc(ps, func(a, b site.Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col), cmp.Compare(a.Msg, b.Msg))
	}) {
		t.Errorf("Load problems are not sorted:\n%s", ps.Error())
	}
	if got, want := ps.Error(), strings.Join(expand(dir, want), "\n"); got != want {
		t.Errorf("Problems.Error() = %q; want %q", got, want)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    site.Problem
		want string
	}{
		{site.Problem{File: "a.yaml", Line: 3, Col: 7, Msg: "bad"}, "a.yaml:3:7: bad"},
		{site.Problem{File: "a.yaml", Line: 3, Col: 0, Msg: "bad"}, "a.yaml:3:1: bad"},
		{site.Problem{File: "clients/x", Msg: "whole file"}, "clients/x: whole file"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("Problem%+v.String() = %q; want %q", tt.p, got, tt.want)
		}
	}
	if got := (site.Problems{}).Error(); got != "" {
		t.Errorf("Problems{}.Error() = %q; want \"\"", got)
	}
}

// TestLoadSite checks what a valid site loads into: defaults, order, and
// derived values.
func TestLoadSite(t *testing.T) {
	dir, s, ps := loadSite(t, map[string]string{
		"site.yaml": `name: Maple Renovations
base_url: https://hub.example.com/
logo: images/logo.png
taxes:
  - id: state
    name: State tax
    rate: 8.875
`,
		"images/logo.png":          "png",
		"clients/zeta/client.yaml": bobClient,
		"clients/acme/quotes/q-1.yaml": validQuote + `deposit:
  percent: 25
`,
		"clients/acme/quotes/q-2.yml": `number: Q-2
title: Deck
status: approved
issued: 2026-11-10
lines:
  - name: Boards
    quantity: 3
    unit: m²
    unit_price: 19.99
  - name: Stain
    optional: true
    unit_price: 40
deposit:
  amount: 20.00
`,
		"clients/acme/quotes/q-0.yaml": strings.Replace(validQuote, "number: Q-1", "number: Q-0", 1),
		"clients/acme/invoices/i-1.yaml": validInvoice + `quote: Q-1
payments:
  - date: 2026-11-05
    amount: 40
    method: check
`,
		"clients/acme/invoices/i-2.yaml": strings.Replace(strings.Replace(validInvoice, "number: I-1", "number: I-2", 1), "due: 2026-12-01", "due: 2026-11-20", 1),
		"clients/acme/portals/kitchen/portal.md": `---
title: Kitchen remodel
order: 2
embeds:
  - url: https://youtu.be/dQw4w9WgXcQ
  - title: Book a visit
    url: https://calendly.com/maple/visit
links:
  - title: Plans
    url: https://example.com/plans
---
Welcome to your **kitchen**.
`,
		"clients/acme/portals/billing/portal.md":                  "---\ntitle: Billing\nkind: client\norder: 1\n---\n",
		"clients/acme/portals/garden/portal.md":                   "---\ntitle: Garden\norder: 2\n---\n",
		"clients/acme/portals/kitchen/updates/2026-11-01.md":      "---\ntitle: Demo day\ndate: 2026-11-01\n---\nWalls down.\n",
		"clients/acme/portals/kitchen/updates/2026-11-15.md":      "---\ntitle: Cabinets in\ndate: 2026-11-15\n---\n",
		"clients/acme/portals/kitchen/documents/zz.pdf":           "%PDF",
		"clients/acme/portals/kitchen/documents/plans/floor.png":  "png",
		"clients/acme/portals/kitchen/documents/plans/a.dwg":      "dwg",
		"clients/acme/portals/kitchen/documents/.hidden/x.pdf":    "x",
		"clients/acme/portals/kitchen/documents/notes":            "no extension",
		"clients/acme/portals/kitchen/documents/data.weird-thing": "x",
		"portals/help/portal.md":                                  "---\ntitle: Help\n---\nAsk us.\n",
	})
	checkProblems(t, dir, ps, nil)

	cfg := s.Config
	if cfg.Name != "Maple Renovations" || cfg.CurrencyCode != "USD" || cfg.Currency.Code != "USD" || cfg.LocaleTag != "en-US" || cfg.Locale.Tag != "en-US" {
		t.Errorf("Config = %q %q %q %q %q; want defaults USD and en-US", cfg.Name, cfg.CurrencyCode, cfg.Currency.Code, cfg.LocaleTag, cfg.Locale.Tag)
	}
	if cfg.Location != time.UTC {
		t.Errorf("Config.Location = %v; want UTC when timezone is not set", cfg.Location)
	}
	if cfg.Color != "#1f5f8b" {
		t.Errorf("Config.Color = %q; want the default #1f5f8b", cfg.Color)
	}
	if cfg.BaseURL != "https://hub.example.com" {
		t.Errorf("Config.BaseURL = %q; want %q", cfg.BaseURL, "https://hub.example.com")
	}
	if !site.On(cfg.Settings.Deposits) || !site.On(cfg.Settings.Hub) {
		t.Errorf("Settings default to off; want on")
	}

	var ids []string
	for _, c := range s.Clients {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, []string{"acme", "zeta"}) {
		t.Fatalf("client IDs = %q; want [acme zeta]", ids)
	}
	acme := s.Clients[0]
	if acme.DisplayName() != "Acme Corp" || s.Clients[1].DisplayName() != "Bob Jones" {
		t.Errorf("DisplayName = %q, %q; want %q, %q", acme.DisplayName(), s.Clients[1].DisplayName(), "Acme Corp", "Bob Jones")
	}
	if acme.Dir != filepath.Join(dir, "clients", "acme") || acme.File != filepath.Join(dir, "clients", "acme", "client.yaml") {
		t.Errorf("client Dir, File = %q, %q", acme.Dir, acme.File)
	}

	// Quotes newest first; same day, higher number first.
	var qnums []string
	for _, q := range acme.Quotes {
		qnums = append(qnums, q.Number)
	}
	if !slices.Equal(qnums, []string{"Q-2", "Q-1", "Q-0"}) {
		t.Errorf("quote order = %q; want [Q-2 Q-1 Q-0]", qnums)
	}
	q1, q2 := acme.Quotes[1], acme.Quotes[0]
	// Q-1: 2 × 500.00 = 1000.00; tax 8.875% = 88.75; total 1088.75;
	// deposit 25% = 272.1875 → 272.19.
	if q1.Totals.Total != 108875 || q1.DepositDue != 27219 {
		t.Errorf("Q-1 total, deposit = %d, %d; want 108875, 27219", q1.Totals.Total, q1.DepositDue)
	}
	// Q-2: 3 × 19.99 = 59.97; the optional stain is not selected; no tax.
	if q2.Totals.Total != 5997 || q2.DepositDue != 2000 || !slices.Equal(q2.Totals.Lines, []money.Amount{5997, 0}) {
		t.Errorf("Q-2 lines, total, deposit = %v, %d, %d; want [5997 0], 5997, 2000", q2.Totals.Lines, q2.Totals.Total, q2.DepositDue)
	}
	if q1.File != filepath.Join(dir, "clients", "acme", "quotes", "q-1.yaml") {
		t.Errorf("Q-1 File = %q", q1.File)
	}
	if q1.Issued.T != time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) {
		t.Errorf("Q-1 Issued.T = %v; want 2026-11-01 UTC", q1.Issued.T)
	}

	var inums []string
	for _, inv := range acme.Invoices {
		inums = append(inums, inv.Number)
	}
	if !slices.Equal(inums, []string{"I-2", "I-1"}) {
		t.Errorf("invoice order = %q; want [I-2 I-1]", inums)
	}
	i1, i2 := acme.Invoices[1], acme.Invoices[0]
	if i1.Paid != 4000 || i1.Balance != 6000 || i1.State != site.InvoiceAwaitingPayment {
		t.Errorf("I-1 paid, balance, state = %d, %d, %q; want 4000, 6000, awaiting_payment", i1.Paid, i1.Balance, i1.State)
	}
	if i2.State != site.InvoicePastDue {
		t.Errorf("I-2 (due 2026-11-20) state = %q; want past_due", i2.State)
	}

	// Portals by order, then title.
	var slugs []string
	for _, p := range acme.Portals {
		slugs = append(slugs, p.Slug)
	}
	if !slices.Equal(slugs, []string{"billing", "garden", "kitchen"}) {
		t.Fatalf("portal order = %q; want [billing garden kitchen]", slugs)
	}
	billing, kitchen := acme.Portals[0], acme.Portals[2]
	if billing.Kind != "client" || kitchen.Kind != "project" || kitchen.Shared {
		t.Errorf("kinds = %q, %q (shared %v); want client, project (not shared)", billing.Kind, kitchen.Kind, kitchen.Shared)
	}
	if kitchen.Body != "Welcome to your **kitchen**.\n" {
		t.Errorf("kitchen Body = %q", kitchen.Body)
	}
	wantEmbeds := []site.Embed{
		{Title: "YouTube", URL: "https://youtu.be/dQw4w9WgXcQ", Provider: "YouTube", Src: "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"},
		{Title: "Book a visit", URL: "https://calendly.com/maple/visit", Provider: "Calendly", Src: "https://calendly.com/maple/visit?embed_type=Inline"},
	}
	if !slices.Equal(kitchen.Embeds, wantEmbeds) {
		t.Errorf("kitchen Embeds = %+v; want %+v", kitchen.Embeds, wantEmbeds)
	}
	if len(kitchen.Updates) != 2 || kitchen.Updates[0].Title != "Cabinets in" || kitchen.Updates[1].Body != "Walls down.\n" {
		t.Errorf("kitchen Updates = %+v; want newest first", kitchen.Updates)
	}
	var docs []string
	for _, d := range kitchen.Documents {
		docs = append(docs, fmt.Sprintf("%s|%s|%s|%s|%d", d.Folder, d.Name, d.Path, d.Type, d.Size))
	}
	wantDocs := []string{
		"|data.weird-thing|data.weird-thing|WEIRD-THING file|1",
		"|notes|notes|File|12",
		"|zz.pdf|zz.pdf|PDF|4",
		"plans|a.dwg|plans/a.dwg|CAD drawing|3",
		"plans|floor.png|plans/floor.png|PNG image|3",
	}
	if !slices.Equal(docs, wantDocs) {
		t.Errorf("kitchen Documents =\n\t%s\nwant\n\t%s", strings.Join(docs, "\n\t"), strings.Join(wantDocs, "\n\t"))
	}

	if len(s.Shared) != 1 || s.Shared[0].Slug != "help" || !s.Shared[0].Shared || s.Shared[0].Kind != "shared" || s.Shared[0].Body != "Ask us.\n" {
		t.Errorf("Shared = %+v; want the help portal, kind shared", s.Shared)
	}
	if got := s.Clients[1].PortalsOrNil(); got != nil {
		t.Errorf("zeta PortalsOrNil() = %v; want nil", got)
	}
	if got := (*site.Client)(nil).PortalsOrNil(); got != nil {
		t.Errorf("nil PortalsOrNil() = %v; want nil", got)
	}
}

// TestLoader checks that loading piece by piece, as incremental builds do,
// gives what Load gives.
func TestLoader(t *testing.T) {
	dir := t.TempDir()
	writeSiteFiles(t, dir, merge(baseSite(), map[string]string{
		"clients/acme/quotes/q-1.yaml":     validQuote,
		"clients/bob/client.yaml":          bobClient,
		"clients/bob/invoices/i-1.yaml":    strings.Replace(validInvoice, "subject: Kitchen deposit\n", "", 1),
		"clients/Bad/client.yaml":          bobClient,
		"portals/help/portal.md":           "---\ntitle: Help\n---\n",
		"portals/faq/portal.md":            "---\ntitle: FAQ\norder: -1\n---\n",
		"clients/acme/portals/p/portal.md": validPortal,
	}))
	l, ps := site.NewLoader(dir, testNow)
	if len(ps) != 0 {
		t.Fatalf("NewLoader problems: %q", ps.Error())
	}
	if l.Config.Name != "Maple Renovations" || l.Config.Location.String() != "America/New_York" {
		t.Errorf("Loader.Config = %q in %v; want Maple Renovations in America/New_York", l.Config.Name, l.Config.Location)
	}
	if want := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC); !l.Today.Equal(want) {
		t.Errorf("Loader.Today = %v; want %v", l.Today, want)
	}
	if got, want := l.ClientDir("acme"), filepath.Join(dir, "clients", "acme"); got != want {
		t.Errorf("ClientDir(acme) = %q; want %q", got, want)
	}
	if got, want := l.SharedDir(), filepath.Join(dir, "portals"); got != want {
		t.Errorf("SharedDir() = %q; want %q", got, want)
	}
	ids, ps := l.ClientIDs()
	if !slices.Equal(ids, []string{"acme", "bob"}) || len(ps) != 1 {
		t.Errorf("ClientIDs() = %q, %q; want [acme bob] and one problem for Bad", ids, ps.Error())
	}
	acme, ps := l.Client("acme")
	if len(ps) != 0 || acme == nil || len(acme.Quotes) != 1 || len(acme.Portals) != 1 {
		t.Errorf("Client(acme) = %+v, %q; want one quote, one portal, no problems", acme, ps.Error())
	}
	_, ps = l.Client("bob")
	checkProblems(t, dir, ps, []string{`clients/bob/invoices/i-1.yaml:1:1: invoice has no subject; add "subject: ..."`})
	if c, ps := l.Client("nobody"); c != nil || len(ps) != 1 {
		t.Errorf("Client(nobody) = %v, %q; want nil and one problem", c, ps.Error())
	}
	shared, ps := l.Shared()
	if len(ps) != 0 || len(shared) != 2 || shared[0].Slug != "faq" || shared[1].Slug != "help" {
		t.Errorf("Shared() = %v, %q; want [faq help] (by order)", shared, ps.Error())
	}
}

func TestLoadWithProblemsStillReturnsSite(t *testing.T) {
	_, s, ps := loadSite(t, map[string]string{
		"site.yaml":                    "name: Maple\ncurrency: XYZ\nlocale: xx-XX\ntimezone: Nowhere/Land\n",
		"clients/acme/quotes/q-1.yaml": strings.Replace(validQuote, "tax: state\n", "", 1),
	})
	if len(ps) != 3 {
		t.Errorf("Load problems = %q; want 3 (currency, locale, time zone)", ps.Error())
	}
	if s == nil || len(s.Clients) != 1 || len(s.Clients[0].Quotes) != 1 {
		t.Fatalf("Load returned %+v; want the site with its client and quote", s)
	}
	// Broken settings fall back to USD, en-US and UTC so the rest can be checked.
	if s.Config.Currency.Code != "USD" || s.Config.Locale.Tag != "en-US" || s.Config.Location != time.UTC {
		t.Errorf("fallbacks = %q %q %v; want USD en-US UTC", s.Config.Currency.Code, s.Config.Locale.Tag, s.Config.Location)
	}
}

func TestLoadCurrencyDigits(t *testing.T) {
	dir, s, ps := loadSite(t, map[string]string{
		"site.yaml": "name: Sakura\ncurrency: JPY\nlocale: en-US\n",
		"clients/acme/quotes/q-1.yaml": `number: Q-1
title: Garden
status: draft
issued: 2026-11-01
lines:
  - name: Moss
    unit_price: 1500
  - name: Stones
    unit_price: 12.5
`,
	})
	checkProblems(t, dir, ps, []string{
		`clients/acme/quotes/q-1.yaml:9:17: unit_price: "12.5" has a fractional part, but this currency has none`,
	})
	if s.Config.Currency.Code != "JPY" || s.Config.Currency.Digits != 0 {
		t.Errorf("Currency = %+v; want JPY with no minor digits", s.Config.Currency)
	}
}

func TestToday(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		now  time.Time
		loc  *time.Location
		want time.Time
	}{
		{testNow, time.UTC, day(2026, 11, 23)},
		{testNow, nil, day(2026, 11, 23)},
		// 03:00 UTC on the 24th is still the evening of the 23rd in Los Angeles.
		{time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC), la, day(2026, 11, 23)},
		{time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC), time.UTC, day(2026, 11, 24)},
		// 20:00 UTC on the 23rd is already the 24th in Tokyo.
		{time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC), tokyo, day(2026, 11, 24)},
		{time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), tokyo, day(2027, 1, 1)},
	}
	for _, tt := range tests {
		if got := site.Today(tt.now, tt.loc); !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("Today(%s, %v) = %s; want %s", tt.now.Format(time.RFC3339), tt.loc, got, tt.want)
		}
	}
}

func TestInvoiceState(t *testing.T) {
	today := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	yesterday, tomorrow := today.AddDate(0, 0, -1), today.AddDate(0, 0, 1)
	tests := []struct {
		status  string
		balance money.Amount
		due     time.Time
		want    string
	}{
		{site.InvoiceAwaitingPayment, 100, tomorrow, site.InvoiceAwaitingPayment},
		{site.InvoiceAwaitingPayment, 100, today, site.InvoiceAwaitingPayment}, // due today is not late yet
		{site.InvoiceAwaitingPayment, 100, yesterday, site.InvoicePastDue},
		{site.InvoiceAwaitingPayment, 0, yesterday, site.InvoicePaid},
		{site.InvoiceAwaitingPayment, 0, tomorrow, site.InvoicePaid},
		{site.InvoiceAwaitingPayment, -5, yesterday, site.InvoicePaid},
		{site.InvoiceDraft, 100, yesterday, site.InvoiceDraft},
		{site.InvoicePaid, 100, yesterday, site.InvoicePaid},
		{site.InvoiceBadDebt, 100, yesterday, site.InvoiceBadDebt},
	}
	for _, tt := range tests {
		if got := site.InvoiceState(tt.status, tt.balance, tt.due, today); got != tt.want {
			t.Errorf("InvoiceState(%q, %d, %s, %s) = %q; want %q", tt.status, tt.balance, tt.due.Format(time.DateOnly), today.Format(time.DateOnly), got, tt.want)
		}
	}
}

// TestDerivedStatesTimeZone loads the same invoice and quote, due and valid
// until 23 November, at 03:00 UTC on the 24th: still the 23rd in Los Angeles.
func TestDerivedStatesTimeZone(t *testing.T) {
	now := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	files := func(tz string) map[string]string {
		return map[string]string{
			"site.yaml":                      "name: Maple\ntimezone: " + tz + "\n",
			"clients/acme/quotes/q-1.yaml":   strings.Replace(strings.Replace(validQuote, "valid_until: 2026-12-01", "valid_until: 2026-11-23", 1), "tax: state\n", "", 1),
			"clients/acme/invoices/i-1.yaml": strings.Replace(validInvoice, "due: 2026-12-01", "due: 2026-11-23", 1),
		}
	}
	tests := []struct {
		tz          string
		wantState   string
		wantExpired bool
	}{
		{"America/Los_Angeles", site.InvoiceAwaitingPayment, false},
		{"UTC", site.InvoicePastDue, true},
		{"Asia/Tokyo", site.InvoicePastDue, true},
	}
	for _, tt := range tests {
		t.Run(tt.tz, func(t *testing.T) {
			dir := t.TempDir()
			writeSiteFiles(t, dir, merge(baseSite(), files(tt.tz)))
			s, ps := site.Load(dir, now)
			checkProblems(t, dir, ps, nil)
			c := s.Clients[0]
			if got := c.Invoices[0].State; got != tt.wantState {
				t.Errorf("in %s at %s, invoice due 2026-11-23 State = %q; want %q", tt.tz, now.Format(time.RFC3339), got, tt.wantState)
			}
			if got := c.Quotes[0].Expired; got != tt.wantExpired {
				t.Errorf("in %s at %s, quote valid until 2026-11-23 Expired = %v; want %v", tt.tz, now.Format(time.RFC3339), got, tt.wantExpired)
			}
		})
	}
}

func TestInvoicePaidWhenBalanceIsZero(t *testing.T) {
	dir, s, ps := loadSite(t, map[string]string{
		// Due long ago, but paid in full in two parts: 100.00 = 60.00 + 40.00.
		"clients/acme/invoices/i-1.yaml": strings.Replace(validInvoice, "due: 2026-12-01", "due: 2026-11-02", 1) + `payments:
  - date: 2026-11-02
    amount: 60
    method: cash
  - date: 2026-11-20
    amount: 40.00
    method: bank transfer
    reference: TX-1
`,
	})
	checkProblems(t, dir, ps, nil)
	inv := s.Clients[0].Invoices[0]
	if inv.Paid != 10000 || inv.Balance != 0 || inv.State != site.InvoicePaid || inv.Status != site.InvoiceAwaitingPayment {
		t.Errorf("invoice paid, balance, state, status = %d, %d, %q, %q; want 10000, 0, paid, awaiting_payment", inv.Paid, inv.Balance, inv.State, inv.Status)
	}
}

func TestQuoteExpired(t *testing.T) {
	tests := []struct {
		status, validUntil string
		want               bool
	}{
		{"awaiting_response", "2026-11-22", true},  // yesterday
		{"awaiting_response", "2026-11-23", false}, // today: still valid
		{"awaiting_response", "2026-12-01", false},
		{"awaiting_response", "", false}, // no end date
		{"approved", "2026-11-01", false},
		{"draft", "2026-11-01", false},
		{"changes_requested", "2026-11-01", false},
	}
	for _, tt := range tests {
		t.Run(tt.status+"/"+tt.validUntil, func(t *testing.T) {
			q := strings.Replace(validQuote, "status: awaiting_response", "status: "+tt.status, 1)
			if tt.validUntil == "" {
				q = strings.Replace(q, "valid_until: 2026-12-01\n", "", 1)
			} else {
				q = strings.Replace(q, "valid_until: 2026-12-01", "valid_until: "+tt.validUntil, 1)
			}
			dir, s, ps := loadSite(t, map[string]string{
				"site.yaml":                    "name: Maple\ntaxes:\n  - id: state\n    name: State\n    rate: 8.875\n",
				"clients/acme/quotes/q-1.yaml": q,
			})
			checkProblems(t, dir, ps, nil)
			if got := s.Clients[0].Quotes[0].Expired; got != tt.want {
				t.Errorf("quote %s valid until %q on %s: Expired = %v; want %v", tt.status, tt.validUntil, testNow.Format(time.DateOnly), got, tt.want)
			}
		})
	}
}

// Helpers for building lines in ComputeTotals tests.

func num(t testing.TB, s string) site.Number {
	t.Helper()
	d, err := money.ParseDecimal(s)
	if err != nil {
		t.Fatalf("ParseDecimal(%q): %v", s, err)
	}
	return site.Number{Raw: s, Dec: d, Set: true}
}

func usd(t testing.TB, s string) site.Money {
	t.Helper()
	cur, _ := money.LookupCurrency("USD")
	a, err := money.ParseAmount(s, cur)
	if err != nil {
		t.Fatalf("ParseAmount(%q): %v", s, err)
	}
	return site.Money{Raw: s, Amt: a, Set: true}
}

func line(t testing.TB, qty, price, tax string) site.Line {
	t.Helper()
	return site.Line{Name: price, Quantity: num(t, qty), UnitPrice: usd(t, price), Tax: tax}
}

func optional(l site.Line, selected *bool) site.Line {
	l.Optional = true
	l.Selected = selected
	return l
}

func pct(t testing.TB, s string) site.Discount { return site.Discount{Percent: num(t, s)} }
func off(t testing.TB, s string) site.Discount { return site.Discount{Amount: usd(t, s)} }

func TestComputeTotals(t *testing.T) {
	state := site.Tax{ID: "state", Name: "State tax", Rate: num(t, "8.875")}
	gst := site.Tax{ID: "gst", Name: "GST", Rate: num(t, "5")}
	taxes := []site.Tax{state, gst}
	yes, no := true, false

	type taxTotal struct {
		id           string
		base, amount money.Amount
	}
	tests := []struct {
		name      string
		lines     []site.Line
		discounts []site.Discount
		docTax    string
		choose    map[int]bool

		lineTotals []money.Amount
		subtotal   money.Amount
		discs      []money.Amount
		discount   money.Amount
		taxes      []taxTotal
		tax, total money.Amount
	}{
		{
			// Cabinets 2 × 500.00 = 1000.00 taxed at the document's 8.875%: 88.75.
			// Hinges 1.5 × 10.01 = 15.015 → 15.02 at its own GST 5%: 0.751 → 0.75.
			// Labour 200.00, tax none.
			// Subtotal 1215.02; tax 89.50; total 1304.52.
			name: "line tax, document tax and none",
			lines: []site.Line{
				line(t, "2", "500.00", ""),
				line(t, "1.5", "10.01", "gst"),
				line(t, "1", "200.00", "none"),
			},
			docTax:     "state",
			lineTotals: []money.Amount{100000, 1502, 20000},
			subtotal:   121502,
			taxes:      []taxTotal{{"state", 100000, 8875}, {"gst", 1502, 75}},
			tax:        8950,
			total:      130452,
		},
		{
			// No document tax: lines without their own tax are untaxed.
			name:       "no document tax",
			lines:      []site.Line{line(t, "1", "100", ""), line(t, "1", "100", "state")},
			lineTotals: []money.Amount{10000, 10000},
			subtotal:   20000,
			taxes:      []taxTotal{{"state", 10000, 888}}, // 8.875 → 8.88
			tax:        888,
			total:      20888,
		},
		{
			// Document tax "none" turns tax off except where a line names one.
			name:       "document tax none",
			lines:      []site.Line{line(t, "1", "100", ""), line(t, "1", "100", "gst")},
			docTax:     "none",
			lineTotals: []money.Amount{10000, 10000},
			subtotal:   20000,
			taxes:      []taxTotal{{"gst", 10000, 500}},
			tax:        500,
			total:      20500,
		},
		{
			// Three lines of 100.00 (state, state, gst); subtotal 300.00.
			// Discounts: 10% = 30.00, and 10.00: 40.00 in all.
			// 40.00 over three equal lines: 13.333… each; the leftover cent
			// goes to the first: 13.34, 13.33, 13.33.
			// state base 100 − 13.34 + 100 − 13.33 = 173.33 → 15.3830… → 15.38.
			// gst base 100 − 13.33 = 86.67 → 4.3335 → 4.33.
			// Total 300.00 − 40.00 + 19.71 = 279.71.
			name: "percent and fixed discounts",
			lines: []site.Line{
				line(t, "1", "100.00", "state"),
				line(t, "1", "100.00", "state"),
				line(t, "1", "100.00", "gst"),
			},
			discounts:  []site.Discount{pct(t, "10"), off(t, "10.00")},
			lineTotals: []money.Amount{10000, 10000, 10000},
			subtotal:   30000,
			discs:      []money.Amount{3000, 1000},
			discount:   4000,
			taxes:      []taxTotal{{"state", 17333, 1538}, {"gst", 8667, 433}},
			tax:        1971,
			total:      27971,
		},
		{
			// 33.33 (state), 33.33 (gst), 33.34 (none): subtotal 100.00.
			// Discount 0.10 over 3333:3333:3334 = 3.333, 3.333, 3.334:
			// 3, 3, 3 and the leftover cent to the largest remainder, the last.
			// state base 33.30 → 2.955375 → 2.96.
			// gst base 33.30 → 1.665 → 1.67 (half away from zero).
			// Total 100.00 − 0.10 + 4.63 = 104.53.
			name: "discount remainder and tax rounding",
			lines: []site.Line{
				line(t, "1", "33.33", "state"),
				line(t, "1", "33.33", "gst"),
				line(t, "1", "33.34", "none"),
			},
			discounts:  []site.Discount{off(t, "0.10")},
			lineTotals: []money.Amount{3333, 3333, 3334},
			subtotal:   10000,
			discs:      []money.Amount{10},
			discount:   10,
			taxes:      []taxTotal{{"state", 3330, 296}, {"gst", 3330, 167}},
			tax:        463,
			total:      10453,
		},
		{
			// Percent discounts round half away from zero: 12.5% of 0.20 = 0.025 → 0.03.
			name:       "percent discount rounding",
			lines:      []site.Line{line(t, "1", "0.20", "")},
			discounts:  []site.Discount{pct(t, "12.5")},
			lineTotals: []money.Amount{20},
			subtotal:   20,
			discs:      []money.Amount{3},
			discount:   3,
			total:      17,
		},
		{
			// Required 100.00; optional 50.00 selected by default; optional
			// 2 × 25.00 not selected. Subtotal 150.00; state 13.3125 → 13.31.
			name: "optional lines, defaults",
			lines: []site.Line{
				line(t, "1", "100", ""),
				optional(line(t, "1", "50", ""), &yes),
				optional(line(t, "2", "25", ""), nil),
			},
			docTax:     "state",
			lineTotals: []money.Amount{10000, 5000, 0},
			subtotal:   15000,
			taxes:      []taxTotal{{"state", 15000, 1331}},
			tax:        1331,
			total:      16331,
		},
		{
			// The client swaps the optional lines: 100.00 + 50.00 (2 × 25.00).
			// Choosing a required line off does nothing.
			name: "optional lines, chosen",
			lines: []site.Line{
				line(t, "1", "100", ""),
				optional(line(t, "1", "50", ""), &yes),
				optional(line(t, "2", "25", ""), &no),
			},
			docTax:     "state",
			choose:     map[int]bool{0: false, 1: false, 2: true},
			lineTotals: []money.Amount{10000, 0, 5000},
			subtotal:   15000,
			taxes:      []taxTotal{{"state", 15000, 1331}},
			tax:        1331,
			total:      16331,
		},
		{
			// An unselected optional line takes no share of the discount and
			// adds no tax group: 10% of 100.00 = 10.00, all on line 1.
			// gst base 90.00 → 4.50.
			name: "unselected optional line and discount",
			lines: []site.Line{
				line(t, "1", "100", "gst"),
				optional(line(t, "1", "100", "state"), nil),
			},
			discounts:  []site.Discount{pct(t, "10")},
			lineTotals: []money.Amount{10000, 0},
			subtotal:   10000,
			discs:      []money.Amount{1000},
			discount:   1000,
			taxes:      []taxTotal{{"gst", 9000, 450}},
			tax:        450,
			total:      9450,
		},
		{
			// A credit line (−20.00, untaxed) takes no share of the discount:
			// subtotal 80.00; 10% = 8.00, all on the 100.00 line.
			// state base 92.00 → 8.165 → 8.17. Total 80.00 − 8.00 + 8.17 = 80.17.
			name: "credit line",
			lines: []site.Line{
				line(t, "1", "100", "state"),
				line(t, "1", "-20", "none"),
			},
			discounts:  []site.Discount{pct(t, "10")},
			lineTotals: []money.Amount{10000, -2000},
			subtotal:   8000,
			discs:      []money.Amount{800},
			discount:   800,
			taxes:      []taxTotal{{"state", 9200, 817}},
			tax:        817,
			total:      8017,
		},
		{
			// Discounts may take the whole subtotal.
			name:       "discount equal to subtotal",
			lines:      []site.Line{line(t, "1", "100", "state")},
			discounts:  []site.Discount{pct(t, "50"), off(t, "50")},
			lineTotals: []money.Amount{10000},
			subtotal:   10000,
			discs:      []money.Amount{5000, 5000},
			discount:   10000,
			taxes:      []taxTotal{{"state", 0, 0}},
			total:      0,
		},
		{
			name:       "no lines",
			lineTotals: []money.Amount{},
		},
		{
			// Fractional quantities: 0.3333 h × 90.00 = 29.997 → 30.00;
			// 2.5 × 0.99 = 2.475 → 2.48.
			name:       "fractional quantities",
			lines:      []site.Line{line(t, "0.3333", "90.00", ""), line(t, "2.5", "0.99", "")},
			lineTotals: []money.Amount{3000, 248},
			subtotal:   3248,
			total:      3248,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := site.ComputeTotals(tt.lines, tt.discounts, tt.docTax, taxes, tt.choose)
			if err != nil {
				t.Fatalf("ComputeTotals error: %v", err)
			}
			if !slices.Equal(got.Lines, tt.lineTotals) {
				t.Errorf("Lines = %v; want %v", got.Lines, tt.lineTotals)
			}
			if got.Subtotal != tt.subtotal || got.Discount != tt.discount || got.Tax != tt.tax || got.Total != tt.total {
				t.Errorf("subtotal, discount, tax, total = %d, %d, %d, %d; want %d, %d, %d, %d",
					got.Subtotal, got.Discount, got.Tax, got.Total, tt.subtotal, tt.discount, tt.tax, tt.total)
			}
			if !slices.Equal(got.Discounts, tt.discs) {
				t.Errorf("Discounts = %v; want %v", got.Discounts, tt.discs)
			}
			var gotTaxes []taxTotal
			for _, tx := range got.Taxes {
				gotTaxes = append(gotTaxes, taxTotal{tx.Tax.ID, tx.Base, tx.Amount})
			}
			if !slices.Equal(gotTaxes, tt.taxes) {
				t.Errorf("Taxes = %v; want %v", gotTaxes, tt.taxes)
			}
			// The parts always add up exactly.
			var sumLines, sumTax money.Amount
			for _, a := range got.Lines {
				sumLines += a
			}
			for _, tx := range got.Taxes {
				sumTax += tx.Amount
			}
			if sumLines != got.Subtotal || sumTax != got.Tax || got.Subtotal-got.Discount+got.Tax != got.Total {
				t.Errorf("totals do not add up: %+v", got)
			}
		})
	}
}

func TestComputeTotalsErrors(t *testing.T) {
	taxes := []site.Tax{{ID: "state", Name: "State", Rate: num(t, "8.875")}}
	tests := []struct {
		name      string
		lines     []site.Line
		discounts []site.Discount
		docTax    string
		want      string
	}{
		{
			name:      "discounts over subtotal",
			lines:     []site.Line{line(t, "1", "100", "")},
			discounts: []site.Discount{pct(t, "60"), pct(t, "50")},
			want:      "the discounts add up to more than the subtotal",
		},
		{
			name:  "unknown line tax",
			lines: []site.Line{line(t, "1", "100", "vat")},
			want:  `unknown tax "vat"`,
		},
		{
			name:   "unknown document tax",
			lines:  []site.Line{line(t, "1", "100", "")},
			docTax: "vat",
			want:   `unknown tax "vat"`,
		},
		{
			name:  "line overflow",
			lines: []site.Line{line(t, "1", "1", ""), {Quantity: num(t, "2"), UnitPrice: site.Money{Amt: math.MaxInt64, Set: true}}},
			want:  "line 2: amount too large",
		},
		{
			name:  "subtotal overflow",
			lines: []site.Line{{Quantity: num(t, "1"), UnitPrice: site.Money{Amt: math.MaxInt64, Set: true}}, line(t, "1", "0.01", "")},
			want:  "amount too large",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := site.ComputeTotals(tt.lines, tt.discounts, tt.docTax, taxes, nil)
			if err == nil {
				t.Fatalf("ComputeTotals = %+v; want error %q", got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("ComputeTotals error = %q; want %q", err, tt.want)
			}
		})
	}
}

func TestComputeTotalsOverflowBugs(t *testing.T) {
	big := site.Money{Amt: 5_000_000_000_000_000_000, Set: true} // 50,000,000,000,000,000.00
	taxes := []site.Tax{{ID: "state", Name: "State", Rate: num(t, "8.875")}}
	tests := []struct {
		name      string
		lines     []site.Line
		discounts []site.Discount
	}{
		{
			name:      "discount sum",
			lines:     []site.Line{line(t, "1", "100", "")},
			discounts: []site.Discount{{Amount: big}, {Amount: big}},
		},
		{
			// 9,000,000,000,000,000.00 + 8.875% tax > 2^63 − 1 cents.
			name:  "total with tax",
			lines: []site.Line{{Quantity: num(t, "1"), UnitPrice: site.Money{Amt: 9_000_000_000_000_000_000, Set: true}, Tax: "state"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := site.ComputeTotals(tt.lines, tt.discounts, "", taxes, nil)
			if !errors.Is(err, money.ErrOverflow) {
				t.Errorf("ComputeTotals = %+v, %v; want ErrOverflow", got, err)
			}
		})
	}
}

func TestLineSelected(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name   string
		line   site.Line
		choose map[int]bool
		want   bool
	}{
		{"required", site.Line{}, nil, true},
		{"required chosen off", site.Line{}, map[int]bool{0: false}, true},
		{"optional no default", site.Line{Optional: true}, nil, false},
		{"optional default on", site.Line{Optional: true, Selected: &yes}, nil, true},
		{"optional default off", site.Line{Optional: true, Selected: &no}, nil, false},
		{"optional chosen on", site.Line{Optional: true, Selected: &no}, map[int]bool{0: true}, true},
		{"optional chosen off", site.Line{Optional: true, Selected: &yes}, map[int]bool{0: false}, false},
		{"choice for another line", site.Line{Optional: true, Selected: &yes}, map[int]bool{1: false}, true},
	}
	for _, tt := range tests {
		if got := site.LineSelected(tt.line, 0, tt.choose); got != tt.want {
			t.Errorf("LineSelected(%s, 0, %v) = %v; want %v", tt.name, tt.choose, got, tt.want)
		}
	}
}

func TestEmbedSource(t *testing.T) {
	const nocookie = "https://www.youtube-nocookie.com/embed/"
	allowed := []struct {
		url, provider, src string
	}{
		{"https://www.youtube.com/watch?v=dQw4w9WgXcQ", "YouTube", nocookie + "dQw4w9WgXcQ"},
		{"https://youtube.com/watch?v=dQw4w9WgXcQ&t=42s", "YouTube", nocookie + "dQw4w9WgXcQ"},
		{"https://m.youtube.com/watch?v=dQw4w9WgXcQ", "YouTube", nocookie + "dQw4w9WgXcQ"},
		{"https://youtu.be/dQw4w9WgXcQ", "YouTube", nocookie + "dQw4w9WgXcQ"},
		{"https://youtu.be/dQw4w9WgXcQ?si=abc", "YouTube", nocookie + "dQw4w9WgXcQ"},
		{"https://www.youtube.com/shorts/aB3_x-9Zq1", "YouTube", nocookie + "aB3_x-9Zq1"},
		{"https://www.youtube.com/embed/dQw4w9WgXcQ", "YouTube", nocookie + "dQw4w9WgXcQ"},
		{"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ", "YouTube", nocookie + "dQw4w9WgXcQ"},
		{"HTTPS://WWW.YOUTUBE.COM/watch?v=dQw4w9WgXcQ", "YouTube", nocookie + "dQw4w9WgXcQ"},
		{"https://vimeo.com/123456789", "Vimeo", "https://player.vimeo.com/video/123456789"},
		{"https://player.vimeo.com/video/123456789", "Vimeo", "https://player.vimeo.com/video/123456789"},
		{"https://vimeo.com/channels/staffpicks/123456", "Vimeo", "https://player.vimeo.com/video/123456"},
		{"https://www.loom.com/share/0123456789abcdef0123456789abcdef", "Loom", "https://www.loom.com/embed/0123456789abcdef0123456789abcdef"},
		{"https://loom.com/embed/0123456789abcdef", "Loom", "https://www.loom.com/embed/0123456789abcdef"},
		{"https://calendly.com/maple", "Calendly", "https://calendly.com/maple?embed_type=Inline"},
		{"https://calendly.com/maple/site-visit", "Calendly", "https://calendly.com/maple/site-visit?embed_type=Inline"},
		{"https://docs.google.com/document/d/1AbC_d-e/edit", "Google Docs", "https://docs.google.com/document/d/1AbC_d-e/preview"},
		{"https://docs.google.com/spreadsheets/d/1XyZ/edit#gid=0", "Google Docs", "https://docs.google.com/spreadsheets/d/1XyZ/preview"},
		{"https://docs.google.com/presentation/d/1Slides/edit?usp=sharing", "Google Docs", "https://docs.google.com/presentation/d/1Slides/preview"},
		{"https://drive.google.com/file/d/1FileId/view?usp=sharing", "Google Drive", "https://drive.google.com/file/d/1FileId/preview"},
	}
	for _, tt := range allowed {
		t.Run(tt.url, func(t *testing.T) {
			prov, src, err := site.EmbedSource(tt.url)
			if err != nil {
				t.Fatalf("EmbedSource(%q) error: %v", tt.url, err)
			}
			if prov != tt.provider || src != tt.src {
				t.Errorf("EmbedSource(%q) = %q, %q; want %q, %q", tt.url, prov, src, tt.provider, tt.src)
			}
		})
	}

	rejected := []struct {
		url   string
		https bool // rejected for not being https (else: not an allowed provider)
	}{
		{"http://www.youtube.com/watch?v=dQw4w9WgXcQ", true},
		{"javascript:alert(1)", true},
		{"data:text/html,<script>alert(1)</script>", true},
		{"//youtu.be/dQw4w9WgXcQ", true},
		{"youtu.be/dQw4w9WgXcQ", true},
		{"", true},
		{"https://%zz", true},
		{"https://evil.example.com/embed/x", false},
		{"https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ", false},
		{"https://notyoutube.com/watch?v=dQw4w9WgXcQ", false},
		{"https://www.youtube.com/watch", false},
		{"https://www.youtube.com/watch?v=", false},
		{"https://www.youtube.com/watch?v=short", false},
		{`https://www.youtube.com/watch?v=dQw4w9WgXcQ"><script>`, false},
		{"https://www.youtube.com/channel/UCabcdefgh", false},
		{"https://youtu.be/", false},
		{"https://youtu.be/dQw4w9WgXcQ/extra", false},
		{"https://vimeo.com/", false},
		{"https://vimeo.com/maple", false},
		{"https://www.loom.com/share/NOTHEX0123456789", false},
		{"https://www.loom.com/looms/0123456789abcdef", false},
		{"https://calendly.com/", false},
		{"https://calendly.com/a/b/c", false},
		{"https://calendly.com/a.b", false},
		{"https://docs.google.com/forms/d/1Form/viewform", false},
		{"https://docs.google.com/document/d/", false},
		{"https://drive.google.com/drive/folders/1Folder", false},
		{"https://example.com/?url=https://youtu.be/dQw4w9WgXcQ", false},
	}
	for _, tt := range rejected {
		t.Run("rejected/"+tt.url, func(t *testing.T) {
			prov, src, err := site.EmbedSource(tt.url)
			if err == nil {
				t.Fatalf("EmbedSource(%q) = %q, %q; want an error", tt.url, prov, src)
			}
			want := fmt.Sprintf("embed %q is not from an allowed provider or is not a link to one item; %s", tt.url, allowedProviders)
			if tt.https {
				want = fmt.Sprintf("embed %q must be an https link", tt.url)
			}
			if err.Error() != want {
				t.Errorf("EmbedSource(%q) error = %q; want %q", tt.url, err, want)
			}
			if prov != "" || src != "" {
				t.Errorf("EmbedSource(%q) = %q, %q with an error; want empty", tt.url, prov, src)
			}
		})
	}
}

func TestEmbedOriginsCoverEverySource(t *testing.T) {
	// Every frame URL EmbedSource makes must be allowed by the edge's frame-src.
	for _, u := range []string{
		"https://youtu.be/dQw4w9WgXcQ",
		"https://vimeo.com/1",
		"https://www.loom.com/share/0123456789abcdef",
		"https://calendly.com/maple",
		"https://docs.google.com/document/d/x/edit",
		"https://drive.google.com/file/d/x/view",
	} {
		_, src, err := site.EmbedSource(u)
		if err != nil {
			t.Fatalf("EmbedSource(%q): %v", u, err)
		}
		if !embedOriginAllowed(src) {
			t.Errorf("EmbedSource(%q) = %q, whose origin is not in EmbedOrigins %q", u, src, site.EmbedOrigins)
		}
	}
}

func embedOriginAllowed(src string) bool {
	for _, o := range site.EmbedOrigins {
		if strings.HasPrefix(src, o+"/") {
			return true
		}
	}
	return false
}

func TestAddressLines(t *testing.T) {
	tests := []struct {
		a    site.Address
		want []string
	}{
		{site.Address{}, nil},
		{site.Address{Street: "1 Main St", City: "Springfield", Region: "IL", PostalCode: "62701", Country: "USA"},
			[]string{"1 Main St", "Springfield, IL 62701", "USA"}},
		{site.Address{Street: "Flat 2", Street2: "10 High St", City: "London", PostalCode: "SW1A 1AA"},
			[]string{"Flat 2", "10 High St", "London SW1A 1AA"}},
		{site.Address{Region: "QC", PostalCode: "H2X"}, []string{"QC H2X"}},
		{site.Address{PostalCode: "75001"}, []string{"75001"}},
	}
	for _, tt := range tests {
		if got := tt.a.Lines(); !slices.Equal(got, tt.want) {
			t.Errorf("Address%+v.Lines() = %q; want %q", tt.a, got, tt.want)
		}
	}
	if !(site.Address{}).IsZero() || (site.Address{Label: "Lake house"}).IsZero() {
		t.Errorf("Address.IsZero wrong")
	}
}

func TestCheckNumbers(t *testing.T) {
	dir := t.TempDir()
	writeSiteFiles(t, dir, map[string]string{
		"a.yaml": "number: Q-1\n",
		"b.yaml": "title: x\nnumber: q-1\n",
		"c.yaml": "number: Q-2\n",
	})
	a, b, c := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml"), filepath.Join(dir, "c.yaml")
	ps := site.CheckNumbers([]site.Numbered{{"q-1", b}, {"Q-2", c}, {"Q-1", a}})
	checkProblems(t, dir, ps, []string{
		`a.yaml:1:9: number "Q-1" is also used by {dir}/b.yaml; quote and invoice numbers must be unique: change one of them`,
		`b.yaml:2:9: number "q-1" is also used by {dir}/a.yaml; quote and invoice numbers must be unique: change one of them`,
	})
	if ps := site.CheckNumbers(nil); len(ps) != 0 {
		t.Errorf("CheckNumbers(nil) = %q; want none", ps.Error())
	}
}

// checkFuzzProblems asserts what every Load must give, whatever the input
// src written to file.
func checkFuzzProblems(t *testing.T, dir, file, src string, s *site.Site, ps site.Problems) {
	t.Helper()
	lines := strings.Count(src, "\n") + 1
	if s == nil {
		t.Fatal("Load returned a nil site")
	}
	for _, p := range ps {
		if p.File == "" || p.Line < 0 || p.Col < 0 || p.Msg == "" {
			t.Errorf("bad problem %#v", p)
		}
		if !strings.HasPrefix(p.File, dir) {
			t.Errorf("problem %q is about a file outside the content folder", p.String())
		}
		if p.File == file && p.Line > lines+1 {
			t.Errorf("problem %q is past the end of the file (%d lines)", p.String(), lines)
		}
	}
	if !slices.IsSortedFunc(ps, func(a, b site.Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col), cmp.Compare(a.Msg, b.Msg))
	}) {
		t.Errorf("problems not sorted:\n%s", ps.Error())
	}
}

func FuzzLoadYAML(f *testing.F) {
	for _, seed := range []string{
		validQuote,
		validQuote + "deposit:\n  percent: 25\ndiscounts:\n  - percent: 10\n  - amount: 5\n",
		"number: Q-1\nnumber: Q-2\n",
		"number: [1]\ntitle: {a: b}\nissued: [x]\nlines: foo\n",
		"lines:\n  - unit_price: 99999999999999999\n    quantity: 99999\n",
		"a: &x [*x]\n",
		"---\n---\n",
		"- 1\n",
		"key: [\n",
		"property: -1\ndeposit: {}\n",
		"\tfoo: 1",
		"",
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	writeSiteFiles(f, dir, baseSite())
	quote := filepath.Join(dir, "clients", "acme", "quotes", "q.yaml")
	if err := os.MkdirAll(filepath.Dir(quote), 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if err := os.WriteFile(quote, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		s, ps := site.Load(dir, testNow)
		checkFuzzProblems(t, dir, quote, src, s, ps)
	})
}

func FuzzFrontMatter(f *testing.F) {
	for _, seed := range []string{
		validPortal,
		"---\ntitle: T\nembeds:\n  - url: https://youtu.be/dQw4w9WgXcQ\nlinks:\n  - title: x\n    url: https://example.com\n---\nBody\n",
		"---\ntitle: T\n",
		"---\n---\n",
		"---\r\ntitle: T\r\n---\r\n",
		"\ufeff---\ntitle: T\n---\n",
		"no front matter",
		"---\n- a\n---\n",
		"---\ntitle: a: b\n---\n",
		"---\ntitle: T\n...\nfoo: 1\n---\n",
		"---\ncover: ../../site.yaml\nkind: shared\norder: x\n---\n",
		"",
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	writeSiteFiles(f, dir, baseSite())
	portal := filepath.Join(dir, "clients", "acme", "portals", "p", "portal.md")
	if err := os.MkdirAll(filepath.Dir(portal), 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if err := os.WriteFile(portal, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		s, ps := site.Load(dir, testNow)
		checkFuzzProblems(t, dir, portal, src, s, ps)
	})
}

func FuzzEmbedSource(f *testing.F) {
	for _, seed := range []string{
		"https://www.youtube.com/watch?v=dQw4w9WgXcQ",
		"https://youtu.be/dQw4w9WgXcQ",
		"https://vimeo.com/1",
		"https://www.loom.com/share/0123456789abcdef",
		"https://calendly.com/a/b",
		"https://docs.google.com/document/d/x/edit",
		"https://drive.google.com/file/d/x/view",
		"javascript:alert(1)",
		"https://calendly.com/a%2F..%2Fb",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		prov, src, err := site.EmbedSource(raw)
		if err != nil {
			return
		}
		if prov == "" || !embedOriginAllowed(src) {
			t.Errorf("EmbedSource(%q) = %q, %q; want a provider and a source in EmbedOrigins", raw, prov, src)
		}
		if strings.ContainsAny(src, "\"'<> \\\n") || strings.Contains(src, "..") {
			t.Errorf("EmbedSource(%q) = %q: unsafe characters in the frame URL", raw, src)
		}
	})
}

func TestComputeTotalsDiscountsTooLargeError(t *testing.T) {
	_, err := site.ComputeTotals([]site.Line{line(t, "1", "100", "")}, []site.Discount{pct(t, "60"), pct(t, "50")}, "", nil, nil)
	de, ok := errors.AsType[*site.DiscountsTooLargeError](err)
	if !ok || de.Discount != 11000 || de.Subtotal != 10000 {
		t.Errorf("ComputeTotals error = %#v; want a *DiscountsTooLargeError of 11000 over 10000", err)
	}
}

func TestReadableName(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"planting-plan.pdf", "Planting plan"},
		{"winter_care__checklist.PDF", "Winter care checklist"},
		{"Site Survey 2026.dwg", "Site Survey 2026"},
		{"README", "README"},
		{".pdf", ".pdf"},
		{"--.txt", "--.txt"},
		{"élagage-haies.txt", "Élagage haies"},
	} {
		if got := site.ReadableName(tt.name); got != tt.want {
			t.Errorf("ReadableName(%q) = %q; want %q", tt.name, got, tt.want)
		}
	}
}

// TestMessagesSayWhatToDo: YAML's own words and the slips people make
// are told as what to do, at the line that is wrong, once.
func TestMessagesSayWhatToDo(t *testing.T) {
	inv := func(s string) map[string]string { return map[string]string{"clients/acme/invoices/i-1.yaml": s} }
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"a tab indents a line", inv(strings.Replace(validInvoice, "  - name", "\t- name", 1)),
			[]string{`clients/acme/invoices/i-1.yaml:7:1: tabs cannot indent YAML; indent with spaces`}},
		{"a field indented deeper than its neighbours", inv(strings.Replace(validInvoice, "    unit_price", "      unit_price", 1)),
			[]string{`clients/acme/invoices/i-1.yaml:8:7: this line is indented more than the line above (6 spaces, not 4); line it up with the line it belongs with`}},
		{"a field indented to no level", inv(strings.Replace(validInvoice, "    unit_price", "   unit_price", 1)),
			[]string{`clients/acme/invoices/i-1.yaml:8:4: this line is indented 3 spaces, which lines up with no line above; indent it 4 spaces like the lines it belongs with`}},
		{"a top-level field indented", inv(strings.Replace(validInvoice, "subject:", "  subject:", 1)),
			[]string{`clients/acme/invoices/i-1.yaml:2:3: this line is indented more than the line above (2 spaces, not 0); line it up with the line it belongs with`}},
		{"a list item among fields", inv(validInvoice + "    - name: More\n      unit_price: 1.00\n"),
			[]string{`clients/acme/invoices/i-1.yaml:9:5: this list item is indented like the fields above it; indent it 2 spaces like the other items of its list`}},
		{"an amount with its currency sign", inv(strings.Replace(validInvoice, "100.00", "$68.00", 1)),
			[]string{`clients/acme/invoices/i-1.yaml:8:17: unit_price: "$68.00" is not a number: write amounts without the currency sign, like 68.00`}},
		{"an amount with thousands separators", inv(strings.Replace(validInvoice, "100.00", "1,200.00", 1)),
			[]string{`clients/acme/invoices/i-1.yaml:8:17: unit_price: "1,200.00" is not a number: write amounts without thousands separators, like 1200.00`}},
		{"a day the month does not have", inv(strings.Replace(validInvoice, "due: 2026-12-01", "due: 2026-11-31", 1)),
			[]string{`clients/acme/invoices/i-1.yaml:5:6: due: "2026-11-31" is not a date; November has 30 days`}},
		{"February of a leap year", inv(strings.Replace(validInvoice, "due: 2026-12-01", "due: 2028-02-30", 1)),
			[]string{`clients/acme/invoices/i-1.yaml:5:6: due: "2028-02-30" is not a date; February 2028 has 29 days`}},
		{"a typo'd field is said once", inv(strings.Replace(validInvoice, "subject:", "subjet:", 1)),
			[]string{`clients/acme/invoices/i-1.yaml:2:1: unknown field "subjet" (did you mean "subject"?); known fields: discounts, due, issued, lines, notes, number, payments, portal, quote, status, subject, tax`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeSiteFiles(t, dir, merge(baseSite(), tt.files))
			_, ps := site.Load(dir, testNow)
			checkProblems(t, dir, ps, tt.want)
		})
	}
}
