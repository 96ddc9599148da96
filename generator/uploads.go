package generator

import (
	"os"
	"path"
	"strings"

	"github.com/hubhq/hub/generator/site"
)

// portalUploads lists the files the client added to each portal that
// takes uploads (newest first) and returns them as files of the bundle,
// under portals/<slug>/uploads/<id>/: the bundle is served only to the
// client's sessions (and staff's delegates), like request photos.
func (p *presenter) portalUploads(root string, c *site.Client, portals []*PortalView) []outFile {
	bySlug := map[string]*PortalView{}
	for _, pv := range portals {
		if pv.TakesUploads {
			bySlug[pv.Slug] = pv
		}
	}
	names := map[string]string{}
	for _, ct := range c.Contacts {
		names[strings.ToLower(ct.Email)] = ct.Name
	}
	var files []outFile
	for i := len(c.Uploads) - 1; i >= 0; i-- {
		u := c.Uploads[i]
		pv := bySlug[u.Portal]
		if pv == nil || strings.ContainsAny(u.ID, "/\\.") {
			continue // the portal no longer takes uploads: staff still see them (hub uploads)
		}
		if _, err := os.Stat(u.File.Path); err != nil {
			continue // kept by an edge on another machine
		}
		rel := "portals/" + u.Portal + "/uploads/" + u.ID + "/" + path.Base(u.File.Path)
		files = append(files, outFile{path: rel, src: u.File.Path})
		by := names[strings.ToLower(u.Email)]
		if by == "" {
			by = u.Email
		}
		pv.Uploads = append(pv.Uploads, UploadView{Name: u.File.Name, URL: root + escapePath(rel), Size: humanSize(u.File.Size),
			By: by, Date: p.dateTime(u.At), DateISO: p.isoDate(u.At)})
	}
	return files
}
