package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/hubhq/hub/edge"
)

// The rebuild queue (edge.RebuildQueue): a row per client whose facts
// changed since its bundle was last rebuilt, added by logEvent in the
// fact's transaction.
const rebuildSchema = `
CREATE TABLE IF NOT EXISTS rebuilds (
	client_id TEXT PRIMARY KEY,
	version   INTEGER NOT NULL,           -- the newest event's seq
	since     INTEGER NOT NULL,           -- the oldest fact not yet built
	due       INTEGER NOT NULL,
	attempts  INTEGER NOT NULL DEFAULT 0,
	problem   TEXT NOT NULL DEFAULT '',
	owner     TEXT NOT NULL DEFAULT '',
	lease     INTEGER NOT NULL DEFAULT 0  -- when owner's claim lapses
);
CREATE INDEX IF NOT EXISTS rebuilds_due ON rebuilds(due);
`

const rebuildCols = `client_id, version, since, due, attempts, problem, owner, lease`

func scanRebuild(r scanner) (edge.RebuildJob, error) {
	var j edge.RebuildJob
	var since, due, lease int64
	err := r.Scan(&j.Client, &j.Version, &since, &due, &j.Attempts, &j.Problem, &j.Owner, &lease)
	j.Since, j.Due, j.Lease = fromMS(since), fromMS(due), fromMS(lease)
	return j, err
}

// ClaimRebuild implements edge.RebuildQueue.
func (s *Store) ClaimRebuild(ctx context.Context, client, owner string, now time.Time, lease time.Duration) (edge.RebuildJob, bool, error) {
	j, err := scanRebuild(s.db.QueryRowContext(ctx, `UPDATE rebuilds SET owner = ?, lease = ? WHERE client_id = ? AND lease <= ? RETURNING `+rebuildCols,
		owner, ms(now.Add(lease)), client, ms(now)))
	if err == nil {
		return j, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return j, false, err
	}
	j, err = scanRebuild(s.db.QueryRowContext(ctx, `SELECT `+rebuildCols+` FROM rebuilds WHERE client_id = ?`, client))
	if errors.Is(err, sql.ErrNoRows) {
		return edge.RebuildJob{}, false, nil
	}
	return j, false, err
}

// ClaimRebuilds implements edge.RebuildQueue: one UPDATE, so concurrent
// callers (SQLite runs one writer at a time) never share a job.
func (s *Store) ClaimRebuilds(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]edge.RebuildJob, error) {
	return queryAll(ctx, s.db, scanRebuild, `UPDATE rebuilds SET owner = ?, lease = ? WHERE client_id IN
		(SELECT client_id FROM rebuilds WHERE due <= ? AND lease <= ? ORDER BY due, client_id LIMIT ?) RETURNING `+rebuildCols,
		owner, ms(now.Add(lease)), ms(now), ms(now), limit)
}

// FinishRebuild implements edge.RebuildQueue.
func (s *Store) FinishRebuild(ctx context.Context, j edge.RebuildJob, now time.Time, problem string, retry time.Time) error {
	if problem == "" {
		r, err := s.db.ExecContext(ctx, `DELETE FROM rebuilds WHERE client_id = ? AND owner = ? AND version = ?`, j.Client, j.Owner, j.Version)
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil || n == 1 {
			return err
		}
		_, err = s.db.ExecContext(ctx, `UPDATE rebuilds SET owner = '', lease = 0, since = ? WHERE client_id = ? AND owner = ?`, ms(now), j.Client, j.Owner)
		return err
	}
	_, err := s.db.ExecContext(ctx, `UPDATE rebuilds SET owner = '', lease = 0, attempts = attempts + 1, problem = ?,
		due = CASE WHEN version = ? THEN ? ELSE due END WHERE client_id = ? AND owner = ?`, problem, j.Version, ms(retry), j.Client, j.Owner)
	return err
}

// Rebuilds implements edge.StaffStore.
func (s *Store) Rebuilds(ctx context.Context) ([]edge.RebuildJob, error) {
	return queryAll(ctx, s.db, scanRebuild, `SELECT `+rebuildCols+` FROM rebuilds ORDER BY since, client_id`)
}
