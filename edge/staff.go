package edge

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DelegateLink makes a one-time link that signs staff in to a client's hub
// read-only. It is recorded as a delegate login when used.
func (m *Messages) DelegateLink(ctx context.Context, b *Build, client, staff string) (string, error) {
	if _, ok := b.Client(client); !ok {
		return "", Errorf(ENotFound, "no client %q in the current build", client)
	}
	if strings.TrimSpace(staff) == "" {
		return "", Errorf(EInvalid, "say who you are with -staff (your name or email); delegate logins are recorded")
	}
	return newToken(ctx, m.Tokens, m.Base, m.Now(), m.TokenTTL, Token{Purpose: TokenDelegate, Email: "staff:" + staff, ClientID: client, Staff: staff})
}

// LoginLinkFor makes a login link for a contact without sending it.
func (m *Messages) LoginLinkFor(ctx context.Context, b *Build, email, client string) (string, error) {
	if _, ok := contactOf(b, email, client); !ok {
		return "", Errorf(ENotFound, "%s is not a contact of %s in the current build", email, orAny(client))
	}
	return newToken(ctx, m.Tokens, m.Base, m.Now(), m.TokenTTL, Token{Purpose: TokenLogin, Email: strings.ToLower(email), ClientID: client})
}

func orAny(client string) string {
	if client == "" {
		return "any client"
	}
	return client
}

// ContactStatus is a contact's use of the hub, for staff.
type ContactStatus struct {
	Client    string
	Name      string
	Email     string
	Invited   time.Time
	Joined    time.Time
	LastLogin time.Time
}

// State is "joined", "invited" or "not invited" (Hubflo's green, yellow, grey).
func (c ContactStatus) State() string {
	switch {
	case !c.Joined.IsZero():
		return "joined"
	case !c.Invited.IsZero():
		return "invited"
	}
	return "not invited"
}

// ClientsReport lists every contact of every client with what the store
// knows of their logins.
func ClientsReport(ctx context.Context, b *Build, st ActivityLog) ([]ContactStatus, error) {
	acts, err := st.Activity(ctx)
	if err != nil {
		return nil, err
	}
	type key struct{ email, client string }
	joined := map[key]ContactActivity{}
	invited := map[key]time.Time{}
	for _, a := range acts {
		k := key{strings.ToLower(a.Email), a.ClientID}
		if !a.Joined.IsZero() {
			joined[k] = a
		}
		if a.Invited.After(invited[k]) {
			invited[k] = a.Invited
		}
	}
	var out []ContactStatus
	for _, c := range b.Clients() {
		for _, ct := range c.Contacts {
			e := strings.ToLower(ct.Email)
			st := ContactStatus{Client: c.ID, Name: ct.Name, Email: ct.Email}
			for _, inv := range []time.Time{invited[key{e, c.ID}], invited[key{e, ""}]} {
				if inv.After(st.Invited) {
					st.Invited = inv
				}
			}
			if a, ok := joined[key{e, c.ID}]; ok {
				st.Joined, st.LastLogin = a.Joined, a.LastLogin
			}
			out = append(out, st)
		}
	}
	slices.SortStableFunc(out, func(a, b ContactStatus) int { return strings.Compare(a.Client, b.Client) })
	return out, nil
}

// Revoked is a contact signed out of every device in one client's hub.
type Revoked struct {
	ContactKey
	Epoch int64 // the contact's new epoch
}

// RevokeContact signs a contact out of every device in each of clients:
// their sessions end, other contacts' do not. Edges apply it within a
// second.
func RevokeContact(ctx context.Context, st SessionStore, email string, clients []string) ([]Revoked, error) {
	var out []Revoked
	for _, c := range clients {
		k := ContactKey{Client: c, Email: strings.ToLower(email)}
		e, err := st.BumpContactEpoch(ctx, k)
		if err != nil {
			return out, fmt.Errorf("signing %s out of %s: %w", email, c, err)
		}
		out = append(out, Revoked{ContactKey: k, Epoch: e})
	}
	return out, nil
}

// ActivityLog is what staff reports of contacts need of the store.
type ActivityLog interface {
	// Activity lists what is known about each contact: invited, joined, last login.
	Activity(ctx context.Context) ([]ContactActivity, error)
}

// ClientsOfContact lists the clients an email is a contact of in the
// build, and those it signed in to before (it may have been removed from a
// client since, with a session still open), sorted.
func ClientsOfContact(ctx context.Context, b *Build, st ActivityLog, email string) ([]string, error) {
	email = strings.ToLower(email)
	ids := slices.Clone(b.ClientsOf(email))
	acts, err := st.Activity(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading logins: %w", err)
	}
	for _, a := range acts {
		if a.ClientID != "" && !a.Joined.IsZero() && strings.ToLower(a.Email) == email && !slices.Contains(ids, a.ClientID) {
			ids = append(ids, a.ClientID)
		}
	}
	slices.Sort(ids)
	return ids, nil
}
