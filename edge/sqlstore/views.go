package sqlstore

import (
	"context"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
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
CREATE TABLE IF NOT EXISTS first_views (
	client_id TEXT NOT NULL,
	email     TEXT NOT NULL,
	doc       TEXT NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (client_id, email, doc)
);
CREATE TABLE IF NOT EXISTS sends (
	n         INTEGER PRIMARY KEY AUTOINCREMENT,
	client_id TEXT NOT NULL,
	doc       TEXT NOT NULL,
	email     TEXT NOT NULL,
	at        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sends_client ON sends (client_id, n);
`

// RecordViews implements edge.ViewLog, in one transaction.
func (s *Store) RecordViews(ctx context.Context, vs []edge.View) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	changed := map[string]edge.View{} // clients with a new first view: the earliest
	var order []string
	for _, v := range vs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO views (client_id, email, doc, first, last, count) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (client_id, email, doc) DO UPDATE SET first = MIN(first, excluded.first),
			last = MAX(last, excluded.last), count = count + excluded.count`,
			v.Client, v.Email, v.Doc, ms(v.First), ms(v.Last), v.Count); err != nil {
			return err
		}
		if v.Document == "" {
			continue
		}
		r, err := tx.ExecContext(ctx, `INSERT INTO first_views (client_id, email, doc, at) VALUES (?, ?, ?, ?)
			ON CONFLICT (client_id, email, doc) DO UPDATE SET at = excluded.at WHERE excluded.at < first_views.at`,
			v.Client, v.Email, v.Document, ms(v.First))
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			continue
		}
		if _, seen := changed[v.Client]; !seen {
			order = append(order, v.Client)
		}
		changed[v.Client] = v
	}
	for _, c := range order {
		v := changed[c]
		if err := logEvent(ctx, tx, c, "view", v.Document, ms(v.Last)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// RecordSends implements edge.SendLog.
func (s *Store) RecordSends(ctx context.Context, clientID string, ss []events.Send) error {
	if len(ss) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, sd := range ss {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sends (client_id, doc, email, at) VALUES (?, ?, ?, ?)`, clientID, sd.Doc, sd.Email, ms(sd.At)); err != nil {
			return err
		}
	}
	if err := logEvent(ctx, tx, clientID, "send", ss[0].Doc, ms(ss[0].At)); err != nil {
		return err
	}
	return tx.Commit()
}

// historyFacts adds a client's sends and first views, oldest first.
func (s *Store) historyFacts(ctx context.Context, clientID string, f *events.Facts) error {
	var err error
	if f.Sends, err = queryAll(ctx, s.db, func(r scanner) (events.Send, error) {
		var sd events.Send
		var at int64
		err := r.Scan(&sd.Doc, &sd.Email, &at)
		sd.At = fromMS(at)
		return sd, err
	}, `SELECT doc, email, at FROM sends WHERE client_id = ? ORDER BY n`, clientID); err != nil {
		return err
	}
	f.Views, err = queryAll(ctx, s.db, func(r scanner) (events.FirstView, error) {
		var v events.FirstView
		var at int64
		err := r.Scan(&v.Doc, &v.Email, &at)
		v.At = fromMS(at)
		return v, err
	}, `SELECT doc, email, at FROM first_views WHERE client_id = ? ORDER BY at, email, doc`, clientID)
	return err
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
