package site

import (
	"errors"
	"fmt"

	"github.com/hubhq/hub/generator/money"
)

// LineSelected reports whether line i counts towards the total: every
// required line does; an optional line does when chosen (the choice given
// in choose, else its "selected" default, else not).
func LineSelected(ln Line, i int, choose map[int]bool) bool {
	if !ln.Optional {
		return true
	}
	if c, ok := choose[i]; ok {
		return c
	}
	return ln.Selected != nil && *ln.Selected
}

// ComputeTotals works out a document's amounts. The rules, in order:
//
//  1. Each selected line's total is quantity × unit price, rounded to the
//     minor unit (half away from zero).
//  2. The subtotal is the sum of the line totals.
//  3. Each discount is a fixed amount, or a percentage of the subtotal
//     rounded to the minor unit; all discounts together cannot exceed the
//     subtotal.
//  4. The total discount is spread over the lines in proportion to their
//     totals (largest remainder, so the shares add up exactly).
//  5. Lines are grouped by tax (the line's own, else the document's); each
//     group's tax is its discounted base × rate, rounded once per group.
//  6. Total = subtotal − discount + taxes.
//
// choose overrides which optional lines are selected (nil: their defaults).
func ComputeTotals(lines []Line, discounts []Discount, docTax string, taxes []Tax, choose map[int]bool) (Totals, error) {
	var t Totals
	t.Lines = make([]money.Amount, len(lines))
	var err error
	for i, ln := range lines {
		if !LineSelected(ln, i, choose) {
			continue
		}
		if t.Lines[i], err = money.Mul(ln.UnitPrice.Amt, ln.Quantity.Dec); err != nil {
			return t, fmt.Errorf("line %d: %w", i+1, err)
		}
		if t.Subtotal, err = money.Add(t.Subtotal, t.Lines[i]); err != nil {
			return t, err
		}
	}
	for i, d := range discounts {
		var a money.Amount
		if d.Percent.Set {
			if a, err = money.Percent(t.Subtotal, d.Percent.Dec); err != nil {
				return t, fmt.Errorf("discount %d: %w", i+1, err)
			}
		} else {
			a = d.Amount.Amt
		}
		t.Discounts = append(t.Discounts, a)
		if t.Discount, err = money.Add(t.Discount, a); err != nil {
			return t, fmt.Errorf("discounts: %w", err)
		}
	}
	if t.Discount > t.Subtotal && t.Subtotal >= 0 {
		return t, &DiscountsTooLargeError{Discount: t.Discount, Subtotal: t.Subtotal}
	}
	weights := make([]money.Amount, len(lines))
	for i, a := range t.Lines {
		weights[i] = max(a, 0)
	}
	shares, err := money.Allocate(t.Discount, weights)
	if err != nil {
		return t, err
	}
	byID := map[string]Tax{}
	for _, tx := range taxes {
		byID[tx.ID] = tx
	}
	bases := map[string]money.Amount{}
	var order []string
	for i, ln := range lines {
		if !LineSelected(ln, i, choose) {
			continue
		}
		id := ln.Tax
		if id == "" {
			id = docTax
		}
		if id == "" || id == "none" {
			continue
		}
		if _, ok := bases[id]; !ok {
			order = append(order, id)
		}
		b, err := money.Sub(t.Lines[i], shares[i])
		if err == nil {
			b, err = money.Add(bases[id], b)
		}
		if err != nil {
			return t, fmt.Errorf("tax %q: %w", id, err)
		}
		bases[id] = b
	}
	for _, id := range order {
		tx, ok := byID[id]
		if !ok {
			return t, fmt.Errorf("unknown tax %q", id)
		}
		a, err := money.Percent(bases[id], tx.Rate.Dec)
		if err != nil {
			return t, err
		}
		t.Taxes = append(t.Taxes, TaxTotal{Tax: tx, Base: bases[id], Amount: a})
		if t.Tax, err = money.Add(t.Tax, a); err != nil {
			return t, fmt.Errorf("taxes: %w", err)
		}
	}
	total, err := money.Sub(t.Subtotal, t.Discount)
	if err == nil {
		total, err = money.Add(total, t.Tax)
	}
	if err != nil {
		return t, fmt.Errorf("total: %w", err)
	}
	t.Total = total
	return t, nil
}

// DiscountsTooLargeError is ComputeTotals' error when the discounts add up
// to more than the subtotal. Its message names no amounts (ComputeTotals
// does not know the locale); callers that do can format Discount and
// Subtotal.
type DiscountsTooLargeError struct {
	Discount money.Amount // all discounts together
	Subtotal money.Amount
}

func (e *DiscountsTooLargeError) Error() string {
	return "the discounts add up to more than the subtotal"
}

// totalsProblem words a ComputeTotals error for people, with amounts
// formatted for the site's locale.
func totalsProblem(err error, cfg *Config) string {
	if de, ok := errors.AsType[*DiscountsTooLargeError](err); ok {
		return fmt.Sprintf("totals cannot be computed: the discounts (%s) add up to more than the subtotal (%s)",
			cfg.Locale.Format(de.Discount, cfg.Currency), cfg.Locale.Format(de.Subtotal, cfg.Currency))
	}
	return fmt.Sprintf("totals cannot be computed: %v", err)
}
