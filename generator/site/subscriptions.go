package site

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

var subscriptionStatuses = []string{SubscriptionDraft, SubscriptionActive, SubscriptionPaused, SubscriptionCancelled}
var intervals = []string{IntervalWeek, IntervalMonth, IntervalQuarter, IntervalYear}

// SoonDays is how far ahead a subscription's charge is announced (the
// client's home page shows it).
const SoonDays = 7

// maxEvery bounds an interval count: every 52 weeks is a year, every 10
// years is already unusual billing.
const maxEvery = 52

// PeriodStart is the first day of the k-th period (from 0): the start
// plus k intervals. Months keep the start's day, or the month's last day
// when it is shorter (a subscription starting on Jan 31 charges on Feb 28
// or 29, then Mar 31).
func (s *Subscription) PeriodStart(k int) time.Time {
	every := max(s.Every, 1)
	t := s.Start.T
	switch s.Interval {
	case IntervalWeek:
		return t.AddDate(0, 0, 7*every*k)
	case IntervalQuarter:
		return addMonths(t, 3*every*k)
	case IntervalYear:
		return addMonths(t, 12*every*k)
	}
	return addMonths(t, every*k)
}

// addMonths adds n months to a date, clamping the day to the month's end.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// hasPeriod reports whether the k-th period exists: within the number of
// periods, and starting on or before the end date.
func (s *Subscription) hasPeriod(k int) bool {
	switch {
	case k < 0:
		return false
	case s.Periods > 0:
		return k < s.Periods
	case s.End.Set:
		return !s.PeriodStart(k).After(s.End.T)
	}
	return true
}

// Cadence is the interval in words: "month", "2 weeks".
func (s *Subscription) Cadence() string {
	if s.Every <= 1 {
		return s.Interval
	}
	return fmt.Sprintf("%d %ss", s.Every, s.Interval)
}

// LastPeriod is the index of the last period, or -1 for no end.
func (s *Subscription) LastPeriod() int {
	switch {
	case s.Periods > 0:
		return s.Periods - 1
	case s.End.Set:
		k := s.periodsBefore(s.End.T.AddDate(0, 0, 1)) - 1
		return max(k, 0)
	}
	return -1
}

// periodsBefore counts the periods that start before t.
func (s *Subscription) periodsBefore(t time.Time) int {
	if !s.Start.T.Before(t) {
		return 0
	}
	// An estimate from the average period length, then corrected: periods
	// are at most a few days off their average.
	k := int(t.Sub(s.Start.T) / s.approxPeriod())
	for k > 0 && !s.PeriodStart(k-1).Before(t) {
		k--
	}
	for s.PeriodStart(k).Before(t) {
		k++
	}
	return k
}

func (s *Subscription) approxPeriod() time.Duration {
	every := time.Duration(max(s.Every, 1))
	day := 24 * time.Hour
	switch s.Interval {
	case IntervalWeek:
		return every * 7 * day
	case IntervalQuarter:
		return every * 91 * day
	case IntervalYear:
		return every * 365 * day
	}
	return every * 30 * day
}

// NextCharge is the next period's first day on or after today, and its
// index; false when the subscription is not active or has no period left.
func (s *Subscription) NextCharge(today time.Time) (time.Time, int, bool) {
	if s.Status != SubscriptionActive || !s.Start.Set {
		return time.Time{}, 0, false
	}
	k := s.periodsBefore(today)
	if !s.hasPeriod(k) {
		return time.Time{}, 0, false
	}
	return s.PeriodStart(k), k, true
}

// SubscriptionState is the status a client sees: "ended" for an active
// subscription with no period left, else the written status.
func SubscriptionState(s *Subscription, today time.Time) string {
	if s.Status == SubscriptionActive && s.Start.Set {
		if _, _, ok := s.NextCharge(today); !ok {
			return SubscriptionEnded
		}
	}
	return s.Status
}

func validateSubscription(d *doc, s *Subscription, cfg *Config, today time.Time) {
	checkNumber(d, "subscription", s.Number)
	checkStatus(d, "subscription", s.Status, subscriptionStatuses)
	if !On(cfg.Settings.Subscriptions) && s.Status != SubscriptionDraft {
		d.errorf([]any{"status"}, "subscriptions are turned off in %s (settings.subscriptions: false); set this one's status to draft, or turn subscriptions on", ConfigFile)
	}
	if strings.TrimSpace(s.Title) == "" {
		d.keyErrorf(nil, "subscription has no title; add \"title: ...\"")
	}
	switch {
	case s.Interval == "":
		d.keyErrorf(nil, "subscription has no interval; add \"interval:\" with one of week, month, quarter, year")
	case !slices.Contains(intervals, s.Interval):
		d.errorf([]any{"interval"}, "unknown interval %q; use week, month, quarter or year (and \"every: 2\" for every other one)", s.Interval)
	}
	if s.Every < 0 || s.Every > maxEvery {
		d.errorf([]any{"every"}, "every %d: the interval count must be from 1 to %d", s.Every, maxEvery)
	}
	checkDate(d, "start", &s.Start, true, "subscription")
	checkDate(d, "end", &s.End, false, "subscription")
	switch {
	case s.End.Set && s.Periods != 0:
		d.keyErrorf([]any{"periods"}, "subscription has both end and periods; keep one (the last period is on or before the end date, or after that many periods)")
	case s.Periods < 0:
		d.errorf([]any{"periods"}, "periods %d must be at least 1 (leave it out for no end)", s.Periods)
	case s.Start.Set && s.End.Set && s.End.Before(s.Start):
		d.errorf([]any{"end"}, "end date %s is before the start date %s", s.End.Raw, s.Start.Raw)
	}
	if !validateLines(d, s.Lines, s.Tax, s.Discounts, cfg, false) {
		return
	}
	t, err := ComputeTotals(s.Lines, s.Discounts, s.Tax, cfg.Taxes, nil)
	if err != nil {
		d.keyErrorf([]any{"lines"}, "%s", totalsProblem(err, cfg))
		return
	}
	if t.Total <= 0 {
		d.keyErrorf([]any{"lines"}, "a subscription's amount per period must be more than 0")
	}
	s.Totals = t
	s.State = SubscriptionState(s, today)
	s.schedule(today)
}

// schedule sets the next charge on or after today, and whether it is soon.
func (s *Subscription) schedule(today time.Time) {
	s.Next, s.NextK, s.Soon = time.Time{}, 0, false
	if _, k, ok := s.NextCharge(today); ok {
		s.setNext(k, today)
	}
}

// setNext makes period k the next charge, or none when there is no such
// period.
func (s *Subscription) setNext(k int, today time.Time) {
	s.Next, s.NextK, s.Soon = time.Time{}, 0, false
	if !s.hasPeriod(k) {
		return
	}
	s.Next, s.NextK = s.PeriodStart(k), k
	s.Soon = s.Next.Before(today.AddDate(0, 0, SoonDays))
}
