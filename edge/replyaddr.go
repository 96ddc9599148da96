package edge

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/generator/events"
)

// Reply addresses: the business answers a client's message by replying
// to the email that reported it. Its Reply-To names the thread, until when
// it may be used, and an HMAC of both, so a guessed or edited address is
// refused: reply+<client>.<thread>.<expiry>.<mac>@<host>, the thread's "/"
// written "=" and the expiry in days since 1970, base 36.

// ReplyAddressTTL is how long a reply address works.
const ReplyAddressTTL = 180 * 24 * time.Hour

// ReplyKeyFile is the reply addresses' key, in the files folder every
// edge of a site shares.
const ReplyKeyFile = "reply.key"

// ReplyAddresses makes and checks signed reply addresses.
type ReplyAddresses struct {
	Key  []byte // at least 32 bytes
	Host string // the domain the edge's SMTP listener receives mail for
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

var replyClientRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func (ra ReplyAddresses) mac(client, thread, exp string) string {
	h := hmac.New(sha256.New, ra.Key)
	fmt.Fprintf(h, "hub reply\x00%s\x00%s\x00%s", client, thread, exp)
	return strings.ToLower(b32.EncodeToString(h.Sum(nil)[:10]))
}

// Address is the reply address of a client's thread, usable until now+ReplyAddressTTL.
func (ra ReplyAddresses) Address(client, thread string, now time.Time) (string, error) {
	if !replyClientRE.MatchString(client) || !events.ValidThread(thread) {
		return "", fmt.Errorf("no reply address for client %q, thread %q", client, thread)
	}
	exp := strconv.FormatInt(now.Add(ReplyAddressTTL).Unix()/86400, 36)
	t := strings.ReplaceAll(thread, "/", "=")
	return "reply+" + client + "." + t + "." + exp + "." + ra.mac(client, thread, exp) + "@" + ra.Host, nil
}

// Reply address refusals.
var (
	ErrNotReplyAddress = errors.New("not a reply address")
	ErrReplyBadMAC     = errors.New("reply address not signed")
	ErrReplyExpired    = errors.New("reply address expired")
)

// Parse checks a reply address and returns its client and thread.
func (ra ReplyAddresses) Parse(addr string, now time.Time) (client, thread string, err error) {
	local, host, ok := strings.Cut(strings.Trim(strings.TrimSpace(addr), "<>"), "@")
	if !ok || !strings.EqualFold(host, ra.Host) || len(local) > 200 {
		return "", "", ErrNotReplyAddress
	}
	if len(local) < 6 || !strings.EqualFold(local[:6], "reply+") {
		return "", "", ErrNotReplyAddress
	}
	parts := strings.Split(local[6:], ".")
	if len(parts) < 4 {
		return "", "", ErrNotReplyAddress
	}
	client, mac, exp := parts[0], parts[len(parts)-1], parts[len(parts)-2]
	thread = strings.ReplaceAll(strings.Join(parts[1:len(parts)-2], "."), "=", "/")
	if !replyClientRE.MatchString(client) || !events.ValidThread(thread) {
		return "", "", ErrNotReplyAddress
	}
	if !hmac.Equal([]byte(strings.ToLower(mac)), []byte(ra.mac(client, thread, exp))) {
		return "", "", ErrReplyBadMAC
	}
	days, err := strconv.ParseInt(exp, 36, 64)
	if err != nil || days > 1<<40 {
		return "", "", ErrReplyBadMAC
	}
	if now.Unix()/86400 > days {
		return "", "", ErrReplyExpired
	}
	return client, thread, nil
}

// LoadReplyKey reads the reply addresses' key from dir, making it the
// first time (of edges starting together, one makes it; all use it).
func LoadReplyKey(dir string) ([]byte, error) {
	file := filepath.Join(dir, ReplyKeyFile)
	if b, err := os.ReadFile(file); err == nil && len(b) >= 32 {
		return b, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".reply-key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	key := make([]byte, 32)
	rand.Read(key)
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	tmp.Close()
	// A link never replaces a key another edge made first.
	if err := os.Link(tmp.Name(), file); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	b, err := os.ReadFile(file)
	if err != nil || len(b) < 32 {
		return nil, fmt.Errorf("reply key %s: %v (want 32 bytes)", file, err)
	}
	return b, nil
}

var (
	wroteRE    = regexp.MustCompile(`^\s*On\b.*\bwrote:\s*$`)
	onRE       = regexp.MustCompile(`^\s*On\s.*\d`)
	wroteEndRE = regexp.MustCompile(`\bwrote:\s*$`)
	cutRE      = regexp.MustCompile(`^\s*(-{2,}\s*Original Message\s*-{2,}|_{10,}|-- )\s*$`)
)

// StripQuoted keeps what a reply says, without the history it quotes:
// lines that start with ">", everything from an "On … wrote:" line (or
// one broken over two lines) or an "Original Message" divider, and a
// signature after "-- ".
func StripQuoted(text string) string {
	lines := strings.Split(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(text), "\n")
	var out []string
	for i, l := range lines {
		if cutRE.MatchString(l) || wroteRE.MatchString(l) ||
			(onRE.MatchString(l) && i+1 < len(lines) && wroteEndRE.MatchString(lines[i+1]) && !strings.HasPrefix(strings.TrimSpace(lines[i+1]), ">")) {
			break
		}
		if strings.HasPrefix(strings.TrimLeft(l, " \t"), ">") {
			continue
		}
		out = append(out, strings.TrimRight(l, " \t"))
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
