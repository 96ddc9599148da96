package site_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/generator/site"
)

const validSub = `number: SUB-1
title: Garden care
status: active
interval: month
start: 2026-11-01
lines:
  - name: Visits
    quantity: 4
    unit_price: 50.00
`

// TestLoadSubscriptionProblems: every rule of a subscription file, with
// the place of each problem.
func TestLoadSubscriptionProblems(t *testing.T) {
	tests := []struct {
		name string
		sub  string
		more map[string]string
		want []string
	}{
		{name: "valid", sub: validSub},
		{
			name: "nothing but lines",
			sub:  "lines:\n  - name: X\n    unit_price: 1.00\n",
			want: []string{
				`clients/acme/subscriptions/s.yaml:1:1: subscription has no interval; add "interval:" with one of week, month, quarter, year`,
				`clients/acme/subscriptions/s.yaml:1:1: subscription has no number; add "number: ..."`,
				`clients/acme/subscriptions/s.yaml:1:1: subscription has no start date; add "start: YYYY-MM-DD"`,
				`clients/acme/subscriptions/s.yaml:1:1: subscription has no status; add "status:" with one of draft, active, paused, cancelled`,
				`clients/acme/subscriptions/s.yaml:1:1: subscription has no title; add "title: ..."`,
			},
		},
		{
			name: "unknown interval and status",
			sub:  strings.NewReplacer("interval: month", "interval: fortnight", "status: active", "status: running").Replace(validSub),
			want: []string{
				`clients/acme/subscriptions/s.yaml:3:9: unknown subscription status "running"; use one of draft, active, paused, cancelled`,
				`clients/acme/subscriptions/s.yaml:4:11: unknown interval "fortnight"; use week, month, quarter or year (and "every: 2" for every other one)`,
			},
		},
		{
			name: "every out of range",
			sub:  validSub + "every: 53\n",
			want: []string{`clients/acme/subscriptions/s.yaml:10:8: every 53: the interval count must be from 1 to 52`},
		},
		{
			name: "both end and periods",
			sub:  validSub + "end: 2027-01-01\nperiods: 3\n",
			want: []string{`clients/acme/subscriptions/s.yaml:11:1: subscription has both end and periods; keep one (the last period is on or before the end date, or after that many periods)`},
		},
		{
			name: "end before start",
			sub:  validSub + "end: 2026-10-01\n",
			want: []string{`clients/acme/subscriptions/s.yaml:10:6: end date 2026-10-01 is before the start date 2026-11-01`},
		},
		{
			name: "negative periods",
			sub:  validSub + "periods: -2\n",
			want: []string{`clients/acme/subscriptions/s.yaml:10:10: periods -2 must be at least 1 (leave it out for no end)`},
		},
		{
			name: "bad start date",
			sub:  strings.Replace(validSub, "start: 2026-11-01", "start: 11/01/2026", 1),
			want: []string{`clients/acme/subscriptions/s.yaml:5:8: start: "11/01/2026" is not a date; write it as YYYY-MM-DD`},
		},
		{
			name: "nothing to charge",
			sub:  strings.Replace(validSub, "unit_price: 50.00", "unit_price: 0.00", 1),
			want: []string{`clients/acme/subscriptions/s.yaml:6:1: a subscription's amount per period must be more than 0`},
		},
		{
			name: "a number used twice in one client",
			sub:  validSub,
			more: map[string]string{"clients/acme/subscriptions/t.yaml": strings.Replace(validSub, "SUB-1", "sub-1", 1)},
			want: []string{`clients/acme/subscriptions/t.yaml:1:9: subscription number sub-1 is also used by {dir}/clients/acme/subscriptions/s.yaml`},
		},
		{
			name: "subscriptions turned off",
			sub:  validSub,
			more: map[string]string{"site.yaml": "name: Maple\nsettings:\n  subscriptions: false\n"},
			want: []string{`clients/acme/subscriptions/s.yaml:3:9: subscriptions are turned off in site.yaml (settings.subscriptions: false); set this one's status to draft, or turn subscriptions on`},
		},
		{
			name: "subscriptions turned off, a draft",
			sub:  strings.Replace(validSub, "status: active", "status: draft", 1),
			more: map[string]string{"site.yaml": "name: Maple\nsettings:\n  subscriptions: false\n"},
		},
		{
			name: "a folder where files belong",
			sub:  validSub,
			more: map[string]string{"clients/acme/subscriptions/old/s.yaml": validSub},
			want: []string{`clients/acme/subscriptions/old: unexpected folder; this folder holds only .yaml files`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"clients/acme/subscriptions/s.yaml": tt.sub}
			for k, v := range tt.more {
				files[k] = v
			}
			dir, _, ps := loadSite(t, files)
			checkProblems(t, dir, ps, tt.want)
		})
	}
}

func date(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestSubscriptionSchedule: period dates (month ends clamped, weeks,
// quarters, years), the next charge from a day, the last period, and the
// state a client sees.
func TestSubscriptionSchedule(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string // appended to a subscription's fields
		today    string
		next     string // "" for none
		k        int
		last     int
		state    string
		schedule []string // the first periods' starts
	}{
		{name: "monthly from the 31st", yaml: "interval: month\nstart: 2027-01-31\n", today: "2027-02-01", next: "2027-02-28", k: 1, last: -1, state: "active",
			schedule: []string{"2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"}},
		{name: "leap day yearly", yaml: "interval: year\nstart: 2028-02-29\n", today: "2028-03-01", next: "2029-02-28", k: 1, last: -1, state: "active",
			schedule: []string{"2028-02-29", "2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29"}},
		{name: "every two weeks", yaml: "interval: week\nevery: 2\nstart: 2026-11-02\n", today: "2026-11-16", next: "2026-11-16", k: 1, last: -1, state: "active",
			schedule: []string{"2026-11-02", "2026-11-16", "2026-11-30"}},
		{name: "quarterly, today is a charge day", yaml: "interval: quarter\nstart: 2026-01-15\n", today: "2026-10-15", next: "2026-10-15", k: 3, last: -1, state: "active",
			schedule: []string{"2026-01-15", "2026-04-15", "2026-07-15", "2026-10-15"}},
		{name: "starts later", yaml: "interval: month\nstart: 2027-03-01\n", today: "2026-11-23", next: "2027-03-01", k: 0, last: -1, state: "active"},
		{name: "three periods, ended", yaml: "interval: month\nstart: 2026-01-10\nperiods: 3\n", today: "2026-11-23", last: 2, state: "ended"},
		{name: "three periods, the last still ahead", yaml: "interval: month\nstart: 2026-09-30\nperiods: 3\n", today: "2026-11-23", next: "2026-11-30", k: 2, last: 2, state: "active"},
		{name: "ends on a charge day", yaml: "interval: month\nstart: 2026-01-05\nend: 2026-12-05\n", today: "2026-12-05", next: "2026-12-05", k: 11, last: 11, state: "active"},
		{name: "ends between charges", yaml: "interval: month\nstart: 2026-01-05\nend: 2026-12-04\n", today: "2026-11-23", last: 10, state: "ended"},
		{name: "paused", yaml: "interval: month\nstart: 2026-01-05\nstatus: paused\n", today: "2026-11-23", last: -1, state: "paused"},
		{name: "cancelled", yaml: "interval: month\nstart: 2026-01-05\nstatus: cancelled\n", today: "2026-11-23", last: -1, state: "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := "status: active\n"
			if strings.Contains(tt.yaml, "status:") {
				status = ""
			}
			src := "number: S-1\ntitle: Care\n" + status + tt.yaml + "lines:\n  - name: Visit\n    unit_price: 10.00\n"
			dir := t.TempDir()
			writeSiteFiles(t, dir, merge(baseSite(), map[string]string{"clients/acme/subscriptions/s.yaml": src}))
			s, ps := site.Load(dir, date(t, tt.today))
			checkProblems(t, dir, ps, nil)
			sub := s.Clients[0].Subs[0]
			next, k, ok := sub.NextCharge(date(t, tt.today))
			if got := ""; ok {
				got = next.Format(time.DateOnly)
				if got != tt.next || k != tt.k {
					t.Errorf("NextCharge(%s) = %s (period %d); want %s (period %d)", tt.today, got, k, tt.next, tt.k)
				}
			} else if tt.next != "" {
				t.Errorf("NextCharge(%s) = none; want %s", tt.today, tt.next)
			}
			if got := sub.LastPeriod(); got != tt.last {
				t.Errorf("LastPeriod = %d; want %d", got, tt.last)
			}
			if sub.State != tt.state {
				t.Errorf("State = %s; want %s", sub.State, tt.state)
			}
			for i, want := range tt.schedule {
				if got := sub.PeriodStart(i).Format(time.DateOnly); got != want {
					t.Errorf("PeriodStart(%d) = %s; want %s", i, got, want)
				}
			}
		})
	}
}

// TestLoadPortalRefs: a quote, an invoice or a subscription may name one
// of its client's portals, and no other.
func TestLoadPortalRefs(t *testing.T) {
	files := map[string]string{
		"clients/acme/portals/kitchen/portal.md": validPortal,
		"clients/acme/quotes/q.yaml":             strings.Replace(validQuote, "title: Kitchen\n", "title: Kitchen\nportal: kitchen\n", 1),
		"clients/acme/invoices/i.yaml":           strings.Replace(validInvoice, "subject: Kitchen deposit\n", "subject: Kitchen deposit\nportal: bathroom\n", 1),
		"clients/acme/subscriptions/s.yaml":      validSub + "portal: Kitchen\n",
		"clients/bob/client.yaml":                bobClient,
		"clients/bob/invoices/i.yaml":            strings.NewReplacer("number: I-1", "number: I-2", "subject: Kitchen deposit\n", "subject: Kitchen deposit\nportal: kitchen\n").Replace(validInvoice),
	}
	dir, _, ps := loadSite(t, files)
	checkProblems(t, dir, ps, []string{
		`clients/acme/invoices/i.yaml:3:9: portal "bathroom" is not one of this client's portals; use one of kitchen`,
		`clients/acme/subscriptions/s.yaml:10:9: portal "Kitchen" is not one of this client's portals; use one of kitchen`,
		`clients/bob/invoices/i.yaml:3:9: portal "kitchen" is not one of this client's portals (it has none: add one in {dir}/clients/bob/portals)`,
	})
}
