package edge_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubhq/hub/edge"
)

// pdfBytes is a small file that is a PDF by its first bytes.
var pdfBytes = []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

func TestCheckAttachments(t *testing.T) {
	png := pngBytes(t, 4, 4)
	big := append(bytes.Clone(pdfBytes), make([]byte, edge.MaxAttachmentSize)...)
	for _, tt := range []struct {
		name string
		as   []edge.Attachment
		want string // in the refusal; "" when taken
	}{
		{"none", nil, ""},
		{"a PDF and a picture", []edge.Attachment{{"plan.pdf", pdfBytes}, {"site.png", png}}, ""},
		{"four", []edge.Attachment{{"a.pdf", pdfBytes}, {"b.pdf", pdfBytes}, {"c.pdf", pdfBytes}, {"d.png", png}}, ""},
		{"five", []edge.Attachment{{"a.pdf", pdfBytes}, {"b.pdf", pdfBytes}, {"c.pdf", pdfBytes}, {"d.pdf", pdfBytes}, {"e.pdf", pdfBytes}}, "at most 4"},
		{"a program", []edge.Attachment{{"setup.exe", []byte("MZ\x90\x00\x03\x00\x00\x00")}}, `"setup.exe" is not a kind of file we can attach`},
		{"HTML", []edge.Attachment{{"page.html", []byte("<html><script>x</script></html>")}}, "is not a kind of file"},
		{"empty", []edge.Attachment{{"empty.pdf", nil}}, `"empty.pdf" is empty`},
		{"too large", []edge.Attachment{{"huge.pdf", big}}, "larger than 10 MB"},
	} {
		err := edge.CheckAttachments(tt.as)
		if got := edge.ErrorMessage(err); (tt.want == "") != (err == nil) || (err != nil && (!strings.Contains(got, tt.want) || edge.ErrorCode(err) != edge.EInvalid)) {
			t.Errorf("%s: CheckAttachments = %v (%q); want %q", tt.name, err, got, tt.want)
		}
	}
}

// TestReplyAttachments: hub reply's files are stored under the client's
// uploads before the message is recorded, published with the client's
// bundle and shown in the thread (pictures as pictures, documents as
// download links); a refused file stores and records nothing.
func TestReplyAttachments(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	m := f.messages()
	png := pngBytes(t, 40, 30)
	msg, _, err := m.Reply(ctx, f.srv.Build(), f.store, "okafor-residence", "quote/Q-1002", "Sam", "The plan and a photo.", "",
		edge.Attachment{Name: "Rain garden plan.pdf", Data: pdfBytes}, edge.Attachment{Name: "../../site.png", Data: png})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Files) != 2 || msg.Files[0].Name != "Rain-garden-plan.pdf" || msg.Files[0].Type != "application/pdf" || msg.Files[1].Name != "site.png" {
		t.Fatalf("files = %+v", msg.Files)
	}
	for i, want := range [][]byte{pdfBytes, png} {
		p := msg.Files[i].Path
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) || !strings.HasPrefix(p, filepath.Join(f.uploads(), "okafor-residence", msg.ID)+string(filepath.Separator)) {
			t.Errorf("file %d at %s: %v; want its bytes under the client's uploads", i, p, err)
		}
	}
	facts, _ := f.store.Facts(ctx, "okafor-residence")
	if n := len(facts.Messages); n != 1 || len(facts.Messages[0].Files) != 2 {
		t.Fatalf("recorded messages = %+v", facts.Messages)
	}
	f.awaitMail("the client's email, saying files are attached", func(m edge.Message) bool {
		return m.To[0].Email == "ngozi.okafor@example.com" && strings.Contains(m.Text, "They attached 2 files, on the page.")
	})

	// Refused: nothing stored, nothing recorded.
	entries := func() int {
		es, _ := os.ReadDir(filepath.Join(f.uploads(), "okafor-residence"))
		return len(es)
	}
	before := entries()
	if _, _, err := m.Reply(ctx, f.srv.Build(), f.store, "okafor-residence", "quote/Q-1002", "Sam", "A program.", "",
		edge.Attachment{Name: "plan.pdf", Data: pdfBytes}, edge.Attachment{Name: "setup.exe", Data: []byte("MZ\x90\x00")}); edge.ErrorCode(err) != edge.EInvalid || !strings.Contains(edge.ErrorMessage(err), "setup.exe") {
		t.Errorf("Reply with a program = %v; want a refusal naming it", err)
	}
	// The same email delivered twice: the second's files are removed.
	for range 2 {
		_, _, err := m.Reply(ctx, f.srv.Build(), f.store, "okafor-residence", "general", "Sam", "Once.", "smtp:once@x", edge.Attachment{Name: "a.pdf", Data: pdfBytes})
		if err != nil && edge.ErrorCode(err) != edge.EConflict {
			t.Fatal(err)
		}
	}
	if got := entries(); got != before+1 {
		t.Errorf("folders under the client's uploads = %d; want %d (one for the reply recorded once, none for the refused one)", got, before+1)
	}
	if facts, _ := f.store.Facts(ctx, "okafor-residence"); len(facts.Messages) != 2 {
		t.Errorf("messages = %d; want 2", len(facts.Messages))
	}

	// The edge's rebuild worker takes the queued rebuild.
	c := f.login("okafor-residence")
	pdfURL := "/c/okafor-residence/messages/" + msg.ID + "/1-Rain-garden-plan.pdf"
	var page string
	f.waitUntil("the thread with the attachments", func() bool {
		page = readBody(t, f.do(c, "GET", "/c/okafor-residence/quotes/Q-1002/", nil))
		return strings.Contains(page, "The plan and a photo.")
	})
	if !strings.Contains(page, `<a href="`+pdfURL+`" download="Rain-garden-plan.pdf">Rain-garden-plan.pdf</a>`) ||
		!strings.Contains(page, `<img src="/c/okafor-residence/messages/`+msg.ID+`/2-site.png"`) {
		t.Fatalf("the thread does not link the PDF and show the picture:\n%s", page)
	}
	if r := f.do(c, "GET", pdfURL, nil); r.StatusCode != 200 || readBody(t, r) != string(pdfBytes) || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("GET the attachment = %d %q", r.StatusCode, r.Header.Get("Content-Disposition"))
	}
	if r := f.do(f.login("whitfield-dental"), "GET", pdfURL, nil); r.StatusCode == 200 {
		t.Errorf("another client's session opened the attachment")
	}
}
