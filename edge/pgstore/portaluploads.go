package pgstore

import (
	"context"
	"strings"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
	"github.com/jackc/pgx/v5"
)

// RecordUpload implements edge.PortalUploadStore. The client's lock
// (taken by record) orders a client's uploads: n follows commit order.
func (s *Store) RecordUpload(ctx context.Context, clientID, nonce string, u events.Upload) (bool, error) {
	return s.record(ctx, nonce, clientID, "upload", u.ID, u.At, nil, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO portal_uploads (id, client_id, portal, email, name, type, size, sha, path, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
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
func (s *Store) Uploads(ctx context.Context, clientID string, limit int) (_ []edge.UploadRecord, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, scanUpload, `SELECT `+uploadCols+` FROM portal_uploads WHERE $1 = '' OR client_id = $1 ORDER BY n DESC LIMIT $2`, clientID, limit)
}

// uploadFacts adds a client's uploads, in the order they were added.
func uploadFacts(ctx context.Context, q querier, clientID string, f *events.Facts) error {
	var err error
	f.Uploads, err = queryAll(ctx, q, func(r scanner) (events.Upload, error) {
		u, err := scanUpload(r)
		return u.Upload, err
	}, `SELECT `+uploadCols+` FROM portal_uploads WHERE client_id = $1 ORDER BY n`, clientID)
	return err
}
