package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

const uploadSchema = `
-- Files clients added to portals; n keeps the order they were added in.
CREATE TABLE IF NOT EXISTS portal_uploads (
	n         INTEGER PRIMARY KEY AUTOINCREMENT,
	id        TEXT NOT NULL UNIQUE,
	client_id TEXT NOT NULL,
	portal    TEXT NOT NULL,
	email     TEXT NOT NULL,
	name      TEXT NOT NULL,
	type      TEXT NOT NULL,
	size      INTEGER NOT NULL,
	sha       TEXT NOT NULL,
	path      TEXT NOT NULL,
	at        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS portal_uploads_client ON portal_uploads(client_id, n);
`

// RecordUpload implements edge.PortalUploadStore.
func (s *Store) RecordUpload(ctx context.Context, clientID, nonce string, u events.Upload) (bool, error) {
	return s.record(ctx, nonce, clientID, "upload", u.ID, u.At, nil, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO portal_uploads (id, client_id, portal, email, name, type, size, sha, path, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, clientID, u.Portal, strings.ToLower(u.Email), u.File.Name, u.File.Type, u.File.Size, u.File.SHA, u.File.Path, ms(u.At)); err != nil {
			return err
		}
		return logEvent(ctx, tx, clientID, "upload", u.ID, ms(u.At))
	})
}

const uploadCols = `client_id, id, portal, email, name, type, size, sha, path, at`

func scanUpload(r scanner) (edge.UploadRecord, error) {
	var u edge.UploadRecord
	var at int64
	err := r.Scan(&u.ClientID, &u.ID, &u.Portal, &u.Email, &u.File.Name, &u.File.Type, &u.File.Size, &u.File.SHA, &u.File.Path, &at)
	u.At = fromMS(at)
	return u, err
}

// Uploads implements edge.PortalUploadStore.
func (s *Store) Uploads(ctx context.Context, clientID string, limit int) ([]edge.UploadRecord, error) {
	return queryAll(ctx, s.db, scanUpload, `SELECT `+uploadCols+` FROM portal_uploads WHERE ? = '' OR client_id = ? ORDER BY n DESC LIMIT ?`, clientID, clientID, limit)
}

// uploadFacts adds a client's uploads, in the order they were added.
func (s *Store) uploadFacts(ctx context.Context, clientID string, f *events.Facts) error {
	var err error
	f.Uploads, err = queryAll(ctx, s.db, func(r scanner) (events.Upload, error) {
		u, err := scanUpload(r)
		return u.Upload, err
	}, `SELECT `+uploadCols+` FROM portal_uploads WHERE client_id = ? ORDER BY n`, clientID)
	return err
}
