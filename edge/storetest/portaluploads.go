package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hubhq/hub/generator/events"
)

var uploadTests = []test{
	{"Uploads", testUploads},
	{"UploadRebuild", testUploadRebuild},
}

func upload(id, portal, email string, at time.Time) events.Upload {
	return events.Upload{ID: id, Portal: portal, Email: email, At: at,
		File: events.Photo{Name: id + ".pdf", Type: "application/pdf", Size: 4321, SHA: "cd" + id, Path: "/uploads/acme/" + id + "/1-" + id + ".pdf"}}
}

// testUploads: order, duplicates, staff and client listings, and times.
func testUploads(t *testing.T, s Store) {
	ctx := context.Background()
	// Added in this order; the third with a clock that went back.
	us := []events.Upload{
		upload("U-1", "garden", "ada@acme.example", T0),
		upload("U-2", "garden", "bob@acme.example", T0.Add(time.Minute)),
		upload("U-3", "patio", "ada@acme.example", T0.Add(30*time.Second)),
	}
	for i, u := range us {
		if dup, err := s.RecordUpload(ctx, "acme", fmt.Sprintf("u%d", i), u); dup || err != nil {
			t.Fatalf("RecordUpload(%s) = %v, %v", u.ID, dup, err)
		}
	}
	// The same form again records nothing, whatever it says.
	if dup, err := s.RecordUpload(ctx, "acme", "u0", upload("U-9", "garden", "ada@acme.example", T0)); !dup || err != nil {
		t.Errorf("RecordUpload with the same nonce = %v, %v; want a duplicate", dup, err)
	}
	// The email is kept in lower case; a time in another zone comes back
	// the same instant, in UTC.
	g := upload("U-4", "garden", "Cy@Globex.example", T0.In(time.FixedZone("EST", -5*3600)))
	if _, err := s.RecordUpload(ctx, "globex", "g1", g); err != nil {
		t.Fatal(err)
	}
	f, err := s.Facts(ctx, "acme")
	must(t, err)
	if !reflect.DeepEqual(f.Uploads, us) {
		t.Errorf("Facts(acme).Uploads = %+v\nwant %+v", f.Uploads, us)
	}
	gf, err := s.Facts(ctx, "globex")
	must(t, err)
	if len(gf.Uploads) != 1 || gf.Uploads[0].Email != "cy@globex.example" || gf.Uploads[0].At.Location() != time.UTC || !gf.Uploads[0].At.Equal(T0) {
		t.Errorf("Facts(globex).Uploads = %+v; want one by cy@globex.example at %v in UTC", gf.Uploads, T0)
	}
	all, err := s.Uploads(ctx, "", 10)
	must(t, err)
	var ids []string
	for _, u := range all {
		ids = append(ids, u.ClientID+":"+u.ID)
	}
	if want := []string{"globex:U-4", "acme:U-3", "acme:U-2", "acme:U-1"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Uploads(all) = %v; want %v (newest added first)", ids, want)
	}
	some, err := s.Uploads(ctx, "acme", 2)
	must(t, err)
	if len(some) != 2 || !reflect.DeepEqual(some[0].Upload, us[2]) || some[1].ID != "U-2" {
		t.Errorf("Uploads(acme, 2) = %+v; want U-3, U-2", some)
	}
}

// testUploadRebuild: an upload moves the client's version and queues its
// rebuild; an id recorded before is refused and rolls back its nonce.
func testUploadRebuild(t *testing.T, s Store) {
	ctx := context.Background()
	v0, err := s.Versions(ctx)
	must(t, err)
	if dup, err := s.RecordUpload(ctx, "acme", "n1", upload("U-1", "garden", "ada@acme.example", T0)); dup || err != nil {
		t.Fatalf("RecordUpload = %v, %v", dup, err)
	}
	if v, _ := s.Versions(ctx); v["acme"] == v0["acme"] {
		t.Errorf("acme's version did not move after an upload")
	}
	if job, ok, err := s.ClaimRebuild(ctx, "acme", "edge-1", T0, time.Minute); err != nil || !ok || job.Client != "acme" {
		t.Errorf("ClaimRebuild(acme) = %+v, %v, %v; want the upload's rebuild", job, ok, err)
	}
	if _, err := s.RecordUpload(ctx, "acme", "n2", upload("U-1", "garden", "ada@acme.example", T0)); err == nil {
		t.Fatal("RecordUpload of an id recorded before succeeded")
	}
	if dup, err := s.RecordUpload(ctx, "acme", "n2", upload("U-2", "garden", "ada@acme.example", T0)); dup || err != nil {
		t.Errorf("RecordUpload after the refused one = %v, %v; want recorded (its nonce was rolled back)", dup, err)
	}
}
