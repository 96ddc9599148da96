package sqlstore

import (
	"context"

	"github.com/hubhq/hub/edge"
)

// Document views (edge.ViewLog): per client, contact and document, the
// first and last view and how many.
const viewSchema = `
CREATE TABLE IF NOT EXISTS views (
	client_id TEXT NOT NULL,
	email     TEXT NOT NULL,
	doc       TEXT NOT NULL,
	first     INTEGER NOT NULL,
	last      INTEGER NOT NULL,
	count     INTEGER NOT NULL,
	PRIMARY KEY (client_id, email, doc)
);
`

// RecordViews implements edge.ViewLog, in one transaction.
func (s *Store) RecordViews(ctx context.Context, vs []edge.View) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, v := range vs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO views (client_id, email, doc, first, last, count) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (client_id, email, doc) DO UPDATE SET first = MIN(first, excluded.first),
			last = MAX(last, excluded.last), count = count + excluded.count`,
			v.Client, v.Email, v.Doc, ms(v.First), ms(v.Last), v.Count); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Views implements edge.StaffStore.
func (s *Store) Views(ctx context.Context, client string) ([]edge.View, error) {
	return queryAll(ctx, s.db, func(r scanner) (edge.View, error) {
		var v edge.View
		var first, last int64
		err := r.Scan(&v.Client, &v.Email, &v.Doc, &first, &last, &v.Count)
		v.First, v.Last = fromMS(first), fromMS(last)
		return v, err
	}, `SELECT client_id, email, doc, first, last, count FROM views
		WHERE ? = '' OR client_id = ? ORDER BY client_id, last DESC, email, doc`, client, client)
}
