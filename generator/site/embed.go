package site

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// EmbedOrigins are the origins portal embeds may load frames from; the edge
// puts them in its Content-Security-Policy frame-src.
var EmbedOrigins = []string{
	"https://www.youtube-nocookie.com",
	"https://player.vimeo.com",
	"https://www.loom.com",
	"https://calendly.com",
	"https://docs.google.com",
	"https://drive.google.com",
}

var (
	ytIDRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{6,20}$`)
	digitsRE  = regexp.MustCompile(`^[0-9]{1,15}$`)
	loomIDRE  = regexp.MustCompile(`^[0-9a-f]{16,64}$`)
	pathSegRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)
)

// EmbedSource maps a URL a person pastes (a YouTube watch link, a Calendly
// booking page...) to the frame URL of an allowlisted provider. Anything
// else is an error naming what is allowed.
func EmbedSource(raw string) (provider, src string, err error) {
	u, perr := url.Parse(raw)
	if perr != nil || u.Scheme != "https" {
		return "", "", fmt.Errorf("embed %q must be an https link", raw)
	}
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch host {
	case "youtube.com", "youtube-nocookie.com", "m.youtube.com":
		id := u.Query().Get("v")
		if len(segs) == 2 && (segs[0] == "embed" || segs[0] == "shorts") {
			id = segs[1]
		}
		if ytIDRE.MatchString(id) {
			return "YouTube", "https://www.youtube-nocookie.com/embed/" + id, nil
		}
	case "youtu.be":
		if len(segs) == 1 && ytIDRE.MatchString(segs[0]) {
			return "YouTube", "https://www.youtube-nocookie.com/embed/" + segs[0], nil
		}
	case "vimeo.com", "player.vimeo.com":
		id := segs[len(segs)-1]
		if digitsRE.MatchString(id) {
			return "Vimeo", "https://player.vimeo.com/video/" + id, nil
		}
	case "loom.com":
		if len(segs) == 2 && (segs[0] == "share" || segs[0] == "embed") && loomIDRE.MatchString(segs[1]) {
			return "Loom", "https://www.loom.com/embed/" + segs[1], nil
		}
	case "calendly.com":
		if len(segs) >= 1 && len(segs) <= 2 && allMatch(segs, pathSegRE) {
			return "Calendly", "https://calendly.com/" + strings.Join(segs, "/") + "?embed_type=Inline", nil
		}
	case "docs.google.com":
		// /document|spreadsheets|presentation/d/ID/...
		if len(segs) >= 3 && (segs[0] == "document" || segs[0] == "spreadsheets" || segs[0] == "presentation") && segs[1] == "d" && pathSegRE.MatchString(segs[2]) {
			return "Google Docs", "https://docs.google.com/" + segs[0] + "/d/" + segs[2] + "/preview", nil
		}
	case "drive.google.com":
		if len(segs) >= 3 && segs[0] == "file" && segs[1] == "d" && pathSegRE.MatchString(segs[2]) {
			return "Google Drive", "https://drive.google.com/file/d/" + segs[2] + "/preview", nil
		}
	}
	return "", "", fmt.Errorf("embed %q is not from an allowed provider or is not a link to one item; allowed: YouTube and Vimeo videos, Loom recordings, Calendly booking pages, Google Docs/Sheets/Slides and Drive files", raw)
}

func allMatch(segs []string, re *regexp.Regexp) bool {
	for _, s := range segs {
		if !re.MatchString(s) {
			return false
		}
	}
	return true
}
