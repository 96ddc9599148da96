package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/jackc/pgx/v5"
)

const rebuildCols = `client_id, version, since, due, attempts, problem, owner, lease`

func scanRebuild(r scanner) (edge.RebuildJob, error) {
	var j edge.RebuildJob
	var since, due, lease int64
	err := r.Scan(&j.Client, &j.Version, &since, &due, &j.Attempts, &j.Problem, &j.Owner, &lease)
	j.Since, j.Due, j.Lease = fromMS(since), fromMS(due), fromMS(lease)
	return j, err
}

// ClaimRebuild implements edge.RebuildQueue: the UPDATE locks the row,
// and a concurrent claimer re-checks the lease after waiting for it.
func (s *Store) ClaimRebuild(ctx context.Context, client, owner string, now time.Time, lease time.Duration) (_ edge.RebuildJob, _ bool, err error) {
	defer check(&err)
	j, err := scanRebuild(s.pool.QueryRow(ctx, `UPDATE rebuilds SET owner = $1, lease = $2 WHERE client_id = $3 AND lease <= $4 RETURNING `+rebuildCols,
		owner, ms(now.Add(lease)), client, ms(now)))
	if err == nil {
		return j, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return j, false, err
	}
	j, err = scanRebuild(s.pool.QueryRow(ctx, `SELECT `+rebuildCols+` FROM rebuilds WHERE client_id = $1`, client))
	if errors.Is(err, pgx.ErrNoRows) {
		return edge.RebuildJob{}, false, nil
	}
	return j, false, err
}

// ClaimRebuilds implements edge.RebuildQueue: FOR UPDATE SKIP LOCKED, so
// concurrent claimers take different jobs.
func (s *Store) ClaimRebuilds(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) (_ []edge.RebuildJob, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, scanRebuild, `UPDATE rebuilds SET owner = $1, lease = $2 WHERE client_id IN
		(SELECT client_id FROM rebuilds WHERE due <= $3 AND lease <= $3 ORDER BY due, client_id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+rebuildCols, owner, ms(now.Add(lease)), ms(now), limit)
}

// FinishRebuild implements edge.RebuildQueue.
func (s *Store) FinishRebuild(ctx context.Context, j edge.RebuildJob, now time.Time, problem string, retry time.Time) (err error) {
	defer check(&err)
	if problem != "" {
		_, err := s.pool.Exec(ctx, `UPDATE rebuilds SET owner = '', lease = 0, attempts = attempts + 1, problem = $1,
			due = CASE WHEN version = $2 THEN $3 ELSE due END WHERE client_id = $4 AND owner = $5`, problem, j.Version, ms(retry), j.Client, j.Owner)
		return err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM rebuilds WHERE client_id = $1 AND owner = $2 AND version = $3`, j.Client, j.Owner, j.Version)
	if err != nil || tag.RowsAffected() == 1 {
		return err
	}
	_, err = s.pool.Exec(ctx, `UPDATE rebuilds SET owner = '', lease = 0, since = $1 WHERE client_id = $2 AND owner = $3`, ms(now), j.Client, j.Owner)
	return err
}

// Rebuilds implements edge.StaffStore.
func (s *Store) Rebuilds(ctx context.Context) (_ []edge.RebuildJob, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, scanRebuild, `SELECT `+rebuildCols+` FROM rebuilds ORDER BY since, client_id`)
}
