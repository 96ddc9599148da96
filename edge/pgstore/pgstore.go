// Package pgstore is the edge's store on PostgreSQL (pgx, one connection
// pool), for several edges sharing one database. It keeps the guarantees
// of the interfaces it implements as edge/sqlstore does, and passes the
// same suite (edge/storetest); where SQLite gets them from running one
// writer at a time, this package takes row locks (SELECT ... FOR UPDATE),
// lets unique keys decide (INSERT ... ON CONFLICT DO NOTHING and the rows
// it affected), skips rows other claimers hold (FOR UPDATE SKIP LOCKED),
// and takes transaction-level advisory locks where an order must hold
// across rows (see the lock constants).
//
// Times are BIGINT milliseconds since 1970 UTC, not timestamptz: the
// values, their rounding (cut to the millisecond), the zero time and every
// comparison are then the same as in the SQLite store, and a timestamptz's
// microseconds cannot make a time read back differ from one compared in
// SQL. Commits are durable: every connection sets synchronous_commit on.
package pgstore

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is an edge.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
}

var (
	_ edge.Store      = (*Store)(nil)
	_ edge.StaffStore = (*Store)(nil)
)

// Advisory lock keys. The bigint ones are whole-database locks; client
// locks are the two-int form (lockClients, hashtext(client)), a space of
// their own.
const (
	lockMigrate     int64 = 0x6875620001 // schema migrations, held for the session while they run
	lockRevocations int64 = 0x6875620002 // RevokeSession: seq order is commit order
	lockSessionKeys int64 = 0x6875620003 // SessionKeys: one new key when edges start together
	lockClients     int32 = 0x687562     // a client's facts: event seq order is commit order, payment seqs
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open connects to the database at url (a postgres:// URL or a libpq
// connection string) and brings its schema up to date.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("state database URL: %w", err)
	}
	// A commit returns once it is on disk, whatever the server's default.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "hub"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, unavailable(err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("state database %s: %w", cfg.ConnConfig.Database, unavailable(err))
	}
	return &Store{pool: pool}, nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func readMigrations() ([]migration, error) {
	files, err := migrations.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, f := range files { // sorted by name: 001_, 002_, ... (branches may leave a number to another)
		num, _, ok := strings.Cut(f.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 3 || v < 1 || (len(out) > 0 && v <= out[len(out)-1].version) {
			return nil, fmt.Errorf("migration %s: want NNN_name.sql, numbered after the one before", f.Name())
		}
		b, err := migrations.ReadFile(path.Join("migrations", f.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{v, f.Name(), string(b)})
	}
	return out, nil
}

// migrate applies the migrations the database lacks, each in its own
// transaction with its row in schema_migrations, under a session advisory
// lock: of edges starting together one migrates, the others wait and
// find nothing left to do.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	list, err := readMigrations()
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockMigrate); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockMigrate)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)`); err != nil {
		return err
	}
	// Every migration not recorded yet is applied, in order: one numbered
	// below another already applied (work merged from another branch) too.
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return err
	}
	have, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return err
	}
	known := map[int]bool{}
	for _, m := range list {
		known[m.version] = true
	}
	for _, v := range have {
		if !known[v] {
			return fmt.Errorf("the schema has migration %d, which this hub does not know (its last is %d): run a newer hub", v, list[len(list)-1].version)
		}
	}
	for _, m := range list {
		if slices.Contains(have, m.version) {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)`, m.version, m.name, ms(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

// unavailable marks errors that mean the database cannot be reached (or
// is shutting down) with edge.ErrUnavailable, so callers can tell them
// from errors of the request.
func unavailable(err error) error {
	if err == nil || errors.Is(err, edge.ErrUnavailable) || !isUnavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", edge.ErrUnavailable, err)
}

func isUnavailable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe):
		// connection exceptions; admin_shutdown, crash_shutdown, cannot_connect_now
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	case errors.As(err, &ce), errors.As(err, &ne), pgconn.SafeToRetry(err),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	}
	return false
}

// check is deferred by every method: it marks connection failures.
func check(err *error) { *err = unavailable(*err) }

// isUnique tells whether err is a violation of the unique key named.
func isUnique(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == constraint
}

func ms(t time.Time) int64 { return t.UnixMilli() }
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// scanner is a pgx.Row or pgx.Rows.
type scanner interface{ Scan(...any) error }

// querier is the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryMap runs a query of (key, value) rows into a map.
func queryMap[K comparable, V any](ctx context.Context, q querier, scan func(scanner) (K, V, error), sql string, args ...any) (map[K]V, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[K]V{}
	for rows.Next() {
		k, v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, rows.Err()
}

func scanPair[V any](r scanner) (string, V, error) {
	var k string
	var v V
	err := r.Scan(&k, &v)
	return k, v, err
}

func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// lockClient serialises, in tx, the writers of one client's facts.
func lockClient(ctx context.Context, tx pgx.Tx, clientID string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockClients, clientID)
	return err
}

// CreateToken implements edge.TokenStore.
func (s *Store) CreateToken(ctx context.Context, t edge.Token) (err error) {
	defer check(&err)
	return s.tx(ctx, func(tx pgx.Tx) error {
		// Forget tokens that expired more than a day ago.
		if _, err := tx.Exec(ctx, `DELETE FROM tokens WHERE expires < $1`, ms(t.Created.Add(-24*time.Hour))); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tokens (hash, purpose, email, client_id, staff, next, created, expires) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			t.Hash, t.Purpose, t.Email, t.ClientID, t.Staff, t.Next, ms(t.Created), ms(t.Expires)); err != nil {
			return err
		}
		if t.Purpose != edge.TokenLogin && t.Purpose != edge.TokenDocument {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO invites (email, client_id, at) VALUES ($1, $2, $3)
			ON CONFLICT (email, client_id) DO UPDATE SET at = GREATEST(invites.at, excluded.at)`, t.Email, t.ClientID, ms(t.Created))
		return err
	})
}

const tokenCols = `hash, purpose, email, client_id, staff, next, created, expires`

func scanToken(row scanner) (edge.Token, error) {
	var t edge.Token
	var created, expires int64
	err := row.Scan(&t.Hash, &t.Purpose, &t.Email, &t.ClientID, &t.Staff, &t.Next, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, edge.Errorf(edge.ENotFound, "This link has expired or was already used.")
	}
	t.Created, t.Expires = fromMS(created), fromMS(expires)
	return t, err
}

// PeekToken implements edge.TokenStore.
func (s *Store) PeekToken(ctx context.Context, hash string, now time.Time) (_ edge.Token, err error) {
	defer check(&err)
	return scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1 AND used IS NULL AND expires > $2`, hash, ms(now)))
}

// ConsumeToken implements edge.TokenStore: one UPDATE ... RETURNING; a
// concurrent one waits for the row and finds it used.
func (s *Store) ConsumeToken(ctx context.Context, hash string, now time.Time) (_ edge.Token, err error) {
	defer check(&err)
	return scanToken(s.pool.QueryRow(ctx, `UPDATE tokens SET used = $2 WHERE hash = $1 AND used IS NULL AND expires > $2 RETURNING `+tokenCols, hash, ms(now)))
}

// Epochs implements edge.SessionStore.
func (s *Store) Epochs(ctx context.Context) (_ map[string]int64, err error) {
	defer check(&err)
	return queryMap(ctx, s.pool, scanPair[int64], `SELECT client_id, epoch FROM epochs`)
}

// BumpEpoch implements edge.StaffStore.
func (s *Store) BumpEpoch(ctx context.Context, clientID string) (e int64, err error) {
	defer check(&err)
	err = s.pool.QueryRow(ctx, `INSERT INTO epochs (client_id, epoch) VALUES ($1, 1)
		ON CONFLICT (client_id) DO UPDATE SET epoch = epochs.epoch + 1 RETURNING epoch`, clientID).Scan(&e)
	return e, err
}

// ContactEpochs implements edge.SessionStore.
func (s *Store) ContactEpochs(ctx context.Context) (_ map[edge.ContactKey]int64, err error) {
	defer check(&err)
	return queryMap(ctx, s.pool, func(r scanner) (edge.ContactKey, int64, error) {
		var k edge.ContactKey
		var e int64
		err := r.Scan(&k.Client, &k.Email, &e)
		return k, e, err
	}, `SELECT client_id, email, epoch FROM contact_epochs`)
}

// BumpContactEpoch implements edge.SessionStore.
func (s *Store) BumpContactEpoch(ctx context.Context, k edge.ContactKey) (e int64, err error) {
	defer check(&err)
	err = s.pool.QueryRow(ctx, `INSERT INTO contact_epochs (client_id, email, epoch) VALUES ($1, $2, 1)
		ON CONFLICT (client_id, email) DO UPDATE SET epoch = contact_epochs.epoch + 1 RETURNING epoch`, k.Client, strings.ToLower(k.Email)).Scan(&e)
	return e, err
}

// RevokeSession implements edge.SessionStore. Revocations are read by
// seq > after; an identity column hands out values at insert, not at
// commit, so two writers could commit out of order and a reader between
// the commits would step over the earlier seq for good. The advisory
// lock, held to the end of the transaction, makes writers take seqs one
// commit at a time.
func (s *Store) RevokeSession(ctx context.Context, r edge.Revocation, now time.Time) (err error) {
	defer check(&err)
	return s.tx(ctx, func(tx pgx.Tx) error { return revoke(ctx, tx, r, now) })
}

func revoke(ctx context.Context, tx pgx.Tx, r edge.Revocation, now time.Time) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockRevocations); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM revoked_sessions WHERE expires < $1`, ms(now)); err != nil {
		return fmt.Errorf("pruning revoked sessions: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO revoked_sessions (id, expires) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, r.ID, ms(r.Expires)); err != nil {
		return fmt.Errorf("revoking a session: %w", err)
	}
	return nil
}

// Revocations implements edge.SessionStore.
func (s *Store) Revocations(ctx context.Context, after int64) (_ []edge.Revocation, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, func(r scanner) (edge.Revocation, error) {
		var v edge.Revocation
		var exp int64
		err := r.Scan(&v.Seq, &v.ID, &exp)
		v.Expires = fromMS(exp)
		return v, err
	}, `SELECT seq, id, expires FROM revoked_sessions WHERE seq > $1 ORDER BY seq`, after)
}

// RecordLogin implements edge.SessionStore.
func (s *Store) RecordLogin(ctx context.Context, l edge.Login) (err error) {
	defer check(&err)
	_, err = s.pool.Exec(ctx, `INSERT INTO logins (email, client_id, staff, at, ip, ua) VALUES ($1, $2, $3, $4, $5, $6)`,
		l.Email, l.ClientID, l.Staff, ms(l.At), l.IP, l.UA)
	return err
}

// Activity implements edge.ActivityLog: a row per contact and client
// that logged in, and one per invitation.
func (s *Store) Activity(ctx context.Context) (_ []edge.ContactActivity, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, func(r scanner) (edge.ContactActivity, error) {
		var a edge.ContactActivity
		var inv, first, last int64
		err := r.Scan(&a.Email, &a.ClientID, &inv, &first, &last, &a.Logins)
		a.Invited, a.Joined, a.LastLogin = fromMS(inv), fromMS(first), fromMS(last)
		return a, err
	}, `SELECT email, client_id, 0, MIN(at), MAX(at), COUNT(*) FROM logins WHERE staff = '' GROUP BY email, client_id
		UNION ALL SELECT email, client_id, at, 0, 0, 0 FROM invites`)
}

// Delegations implements edge.StaffStore.
func (s *Store) Delegations(ctx context.Context, limit int) (_ []edge.Login, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, func(r scanner) (edge.Login, error) {
		var l edge.Login
		var at int64
		err := r.Scan(&l.Email, &l.ClientID, &l.Staff, &at, &l.IP, &l.UA)
		l.At = fromMS(at)
		return l, err
	}, `SELECT email, client_id, staff, at, ip, ua FROM logins WHERE staff <> '' ORDER BY at DESC, id DESC LIMIT $1`, limit)
}

// SessionKeys implements edge.SessionStore. Unless a key is due or one
// retires it is one read; a change is decided again under an advisory
// lock, so edges starting together make one key between them.
func (s *Store) SessionKeys(ctx context.Context, now time.Time, rotateAfter, retireAfter time.Duration) (keys []edge.SessionKey, err error) {
	defer check(&err)
	if keys, err = sessionKeys(ctx, s.pool); err != nil || !keysDue(keys, now, rotateAfter, retireAfter) {
		return keys, err
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockSessionKeys); err != nil {
			return err
		}
		if keys, err = sessionKeys(ctx, tx); err != nil {
			return err
		}
		if len(keys) == 0 || now.Sub(keys[0].Created) >= rotateAfter {
			id, secret := newKey()
			if _, err := tx.Exec(ctx, `INSERT INTO session_keys (id, secret, created) VALUES ($1, $2, $3)`, id, secret, ms(now)); err != nil {
				return fmt.Errorf("new session key: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM session_keys WHERE created < $1`, ms(now.Add(-retireAfter))); err != nil {
			return fmt.Errorf("retiring session keys: %w", err)
		}
		keys, err = sessionKeys(ctx, tx)
		return err
	})
	return keys, err
}

// keysDue tells whether SessionKeys must make or retire a key.
func keysDue(keys []edge.SessionKey, now time.Time, rotateAfter, retireAfter time.Duration) bool {
	return len(keys) == 0 || now.Sub(keys[0].Created) >= rotateAfter || now.Sub(keys[len(keys)-1].Created) > retireAfter
}

// newKey makes a session key's id and secret.
func newKey() (string, []byte) {
	secret := make([]byte, 32)
	rand.Read(secret)
	id := make([]byte, 6)
	rand.Read(id)
	return hex.EncodeToString(id), secret
}

func sessionKeys(ctx context.Context, q querier) ([]edge.SessionKey, error) {
	return queryAll(ctx, q, func(r scanner) (edge.SessionKey, error) {
		var k edge.SessionKey
		var created int64
		err := r.Scan(&k.ID, &k.Secret, &created)
		k.Created = fromMS(created)
		return k, err
	}, `SELECT id, secret, created FROM session_keys ORDER BY created DESC, id`)
}

// EventCount counts the recorded changes of facts (for tests and reports).
func (s *Store) EventCount(ctx context.Context) (n int, err error) {
	defer check(&err)
	err = s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM events`).Scan(&n)
	return n, err
}

// WebhookEventCount counts the Stripe events recorded.
func (s *Store) WebhookEventCount(ctx context.Context) (n int, err error) {
	defer check(&err)
	err = s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM webhook_events`).Scan(&n)
	return n, err
}
