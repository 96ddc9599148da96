package pgstore

import (
	"cmp"
	"context"
	"slices"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
	"github.com/jackc/pgx/v5"
)

// RecordViews implements edge.ViewLog: one transaction, in key order (so
// two edges flushing at once cannot deadlock).
func (s *Store) RecordViews(ctx context.Context, vs []edge.View) (err error) {
	defer check(&err)
	vs = slices.Clone(vs)
	slices.SortFunc(vs, func(a, b edge.View) int {
		return cmp.Or(cmp.Compare(a.Client, b.Client), cmp.Compare(a.Email, b.Email), cmp.Compare(a.Doc, b.Doc))
	})
	return s.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, v := range vs {
			b.Queue(`INSERT INTO views (client_id, email, doc, first, last, count) VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (client_id, email, doc) DO UPDATE SET first = LEAST(views.first, excluded.first),
				last = GREATEST(views.last, excluded.last), count = views.count + excluded.count`,
				v.Client, v.Email, v.Doc, ms(v.First), ms(v.Last), v.Count)
			if v.Document != "" {
				b.Queue(`INSERT INTO first_views (client_id, email, doc, at) VALUES ($1, $2, $3, $4)
					ON CONFLICT (client_id, email, doc) DO UPDATE SET at = excluded.at WHERE excluded.at < first_views.at`,
					v.Client, v.Email, v.Document, ms(v.First))
			}
		}
		br := tx.SendBatch(ctx, b)
		var changed []edge.View // one per client with a new first view, in key order
		for _, v := range vs {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
			if v.Document == "" {
				continue
			}
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				return err
			}
			if tag.RowsAffected() > 0 && (len(changed) == 0 || changed[len(changed)-1].Client != v.Client) {
				changed = append(changed, v)
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
		// The clients' locks in key order, after the rows' (taken in key
		// order too): edges flushing together wait for each other, never
		// in a cycle.
		for _, v := range changed {
			if err := logEvent(ctx, tx, v.Client, "view", v.Document, ms(v.Last)); err != nil {
				return err
			}
		}
		return nil
	})
}

// RecordSends implements edge.SendLog.
func (s *Store) RecordSends(ctx context.Context, clientID string, ss []events.Send) (err error) {
	defer check(&err)
	if len(ss) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := logEvent(ctx, tx, clientID, "send", ss[0].Doc, ms(ss[0].At)); err != nil {
			return err
		}
		for _, sd := range ss {
			if _, err := tx.Exec(ctx, `INSERT INTO sends (client_id, doc, email, at) VALUES ($1, $2, $3, $4)`, clientID, sd.Doc, sd.Email, ms(sd.At)); err != nil {
				return err
			}
		}
		return nil
	})
}

// historyFacts adds a client's sends and first views, oldest first, in tx.
func historyFacts(ctx context.Context, tx pgx.Tx, clientID string, f *events.Facts) error {
	var err error
	if f.Sends, err = queryAll(ctx, tx, func(r scanner) (events.Send, error) {
		var sd events.Send
		var at int64
		err := r.Scan(&sd.Doc, &sd.Email, &at)
		sd.At = fromMS(at)
		return sd, err
	}, `SELECT doc, email, at FROM sends WHERE client_id = $1 ORDER BY n`, clientID); err != nil {
		return err
	}
	f.Views, err = queryAll(ctx, tx, func(r scanner) (events.FirstView, error) {
		var v events.FirstView
		var at int64
		err := r.Scan(&v.Doc, &v.Email, &at)
		v.At = fromMS(at)
		return v, err
	}, `SELECT doc, email, at FROM first_views WHERE client_id = $1 ORDER BY at, email, doc`, clientID)
	return err
}

// Views implements edge.StaffStore.
func (s *Store) Views(ctx context.Context, client string) (_ []edge.View, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, scanView, `SELECT client_id, email, doc, first, last, count FROM views
		WHERE $1 = '' OR client_id = $1 ORDER BY client_id, last DESC, email, doc`, client)
}

func scanView(r scanner) (edge.View, error) {
	var v edge.View
	var first, last int64
	err := r.Scan(&v.Client, &v.Email, &v.Doc, &first, &last, &v.Count)
	v.First, v.Last = fromMS(first), fromMS(last)
	return v, err
}
