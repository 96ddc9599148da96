package pgstore

import (
	"cmp"
	"context"
	"slices"

	"github.com/hubhq/hub/edge"
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
		}
		return tx.SendBatch(ctx, b).Close()
	})
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
