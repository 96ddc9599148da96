// Package sqlstore is the edge's embedded store: one SQLite file
// (modernc.org/sqlite, pure Go, no cgo) in write-ahead-log mode with full
// synchronous commits, so a recorded fact survives a crash once the call
// returns, and staff commands can use the same file while the edge runs.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hubhq/hub/edge"
	_ "modernc.org/sqlite"
)

// FileName is the database's name inside the state folder.
const FileName = "hub.db"

// Store is an edge.Store on SQLite.
type Store struct {
	db *sql.DB
}

var _ edge.Store = (*Store)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS tokens (
	hash      TEXT PRIMARY KEY,
	purpose   TEXT NOT NULL,
	email     TEXT NOT NULL,
	client_id TEXT NOT NULL,
	staff     TEXT NOT NULL,
	next      TEXT NOT NULL,
	created   INTEGER NOT NULL,
	expires   INTEGER NOT NULL,
	used      INTEGER
);
CREATE INDEX IF NOT EXISTS tokens_email ON tokens(email);
CREATE TABLE IF NOT EXISTS epochs (
	client_id TEXT PRIMARY KEY,
	epoch     INTEGER NOT NULL
);
-- Per-contact epochs: "sign out of every device" signs out one person.
CREATE TABLE IF NOT EXISTS contact_epochs (
	client_id TEXT NOT NULL,
	email     TEXT NOT NULL,
	epoch     INTEGER NOT NULL,
	PRIMARY KEY (client_id, email)
);
-- Sessions signed out on the server (logout), until they would have expired.
-- seq lets every edge read only what is new since its last look.
CREATE TABLE IF NOT EXISTS revoked_sessions (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	id      TEXT NOT NULL UNIQUE,
	expires INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS logins (
	id        INTEGER PRIMARY KEY,
	email     TEXT NOT NULL,
	client_id TEXT NOT NULL,
	staff     TEXT NOT NULL,
	at        INTEGER NOT NULL,
	ip        TEXT NOT NULL,
	ua        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logins_email ON logins(email, client_id);
CREATE TABLE IF NOT EXISTS invites (
	email     TEXT NOT NULL,
	client_id TEXT NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (email, client_id)
);
CREATE TABLE IF NOT EXISTS session_keys (
	id      TEXT PRIMARY KEY,
	secret  BLOB NOT NULL,
	created INTEGER NOT NULL
);
-- The log of facts the generator folds into pages: one row per change, so
-- that MAX(seq) per client is a version that moves whenever its facts do.
CREATE TABLE IF NOT EXISTS events (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	client_id TEXT NOT NULL,
	kind      TEXT NOT NULL,
	ref       TEXT NOT NULL,
	at        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_client ON events(client_id, seq);
CREATE TABLE IF NOT EXISTS payments (
	id        TEXT PRIMARY KEY,
	seq       INTEGER NOT NULL,
	client_id TEXT NOT NULL,
	kind      TEXT NOT NULL,
	doc       TEXT NOT NULL,
	amount    INTEGER NOT NULL,
	currency  TEXT NOT NULL,
	state     TEXT NOT NULL,
	method    TEXT NOT NULL DEFAULT '',
	reference TEXT NOT NULL DEFAULT '',
	email     TEXT NOT NULL,
	url       TEXT NOT NULL,
	created   INTEGER NOT NULL,
	expires   INTEGER NOT NULL,
	settled   INTEGER NOT NULL DEFAULT 0,
	period    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS payments_doc ON payments(client_id, doc);
CREATE TABLE IF NOT EXISTS pending_clients (
	id      TEXT PRIMARY KEY,
	email   TEXT NOT NULL UNIQUE,
	name    TEXT NOT NULL,
	phone   TEXT NOT NULL,
	address TEXT NOT NULL,
	at      INTEGER NOT NULL
);
-- Form nonces: a form sent twice records once.
CREATE TABLE IF NOT EXISTS nonces (
	nonce     TEXT PRIMARY KEY,
	client_id TEXT NOT NULL,
	kind      TEXT NOT NULL,
	ref       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
	client_id TEXT NOT NULL,
	quote     TEXT NOT NULL,
	version   TEXT NOT NULL,
	page_sha  TEXT NOT NULL,
	options   TEXT NOT NULL,
	name      TEXT NOT NULL,
	signature BLOB,
	terms     INTEGER NOT NULL,
	email     TEXT NOT NULL,
	ip        TEXT NOT NULL,
	ua        TEXT NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (client_id, quote)
);
CREATE TABLE IF NOT EXISTS change_requests (
	id        INTEGER PRIMARY KEY,
	client_id TEXT NOT NULL,
	quote     TEXT NOT NULL,
	version   TEXT NOT NULL,
	message   TEXT NOT NULL,
	email     TEXT NOT NULL,
	at        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS change_requests_client ON change_requests(client_id, id);
CREATE TABLE IF NOT EXISTS requests (
	id        TEXT PRIMARY KEY,
	client_id TEXT NOT NULL,
	data      TEXT NOT NULL,
	status    TEXT NOT NULL,
	at        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_client ON requests(client_id, at);
CREATE TABLE IF NOT EXISTS webhook_events (
	id        TEXT PRIMARY KEY,
	type      TEXT NOT NULL,
	received  INTEGER NOT NULL,
	payment   TEXT NOT NULL,
	new_state TEXT NOT NULL,
	problem   TEXT NOT NULL
);
`

// Open opens (creating if needed) the store in the state folder dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	dsn := "file:" + filepath.Join(dir, FileName) +
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	if _, err := db.Exec(schema + outboxSchema + rebuildSchema + threadSchema + uploadSchema + viewSchema + subscriptionSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("state database %s: %w", filepath.Join(dir, FileName), err)
	}
	for _, c := range [][3]string{{"payments", "period", "INTEGER NOT NULL DEFAULT 0"}, {"payments", "auto", "INTEGER NOT NULL DEFAULT 0"}} {
		if err := addColumn(db, c[0], c[1], c[2]); err != nil {
			db.Close()
			return nil, fmt.Errorf("state database %s: %w", filepath.Join(dir, FileName), err)
		}
	}
	if err := addBillingColumns(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("state database %s: %w", filepath.Join(dir, FileName), err)
	}
	return &Store{db: db}, nil
}

// OpenExisting opens the store in dir if there is one there, and returns
// nil (no error) if there is not: hub build reads what the edge recorded
// without making an empty database where no edge ever ran.
func OpenExisting(dir string) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, FileName)); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return Open(dir)
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func ms(t time.Time) int64 { return t.UnixMilli() }
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// CreateToken implements edge.Store.
func (s *Store) CreateToken(ctx context.Context, t edge.Token) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Forget tokens that expired more than a day ago.
	if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE expires < ?`, ms(t.Created.Add(-24*time.Hour))); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO tokens (hash, purpose, email, client_id, staff, next, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.Purpose, t.Email, t.ClientID, t.Staff, t.Next, ms(t.Created), ms(t.Expires))
	if err != nil {
		return err
	}
	// Invitations outlive their tokens: staff see who was invited.
	if t.Purpose == edge.TokenLogin || t.Purpose == edge.TokenDocument {
		_, err = tx.ExecContext(ctx, `INSERT INTO invites (email, client_id, at) VALUES (?, ?, ?)
			ON CONFLICT(email, client_id) DO UPDATE SET at = MAX(at, excluded.at)`, t.Email, t.ClientID, ms(t.Created))
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

const tokenCols = `hash, purpose, email, client_id, staff, next, created, expires`

func scanToken(row scanner) (edge.Token, error) {
	var t edge.Token
	var created, expires int64
	err := row.Scan(&t.Hash, &t.Purpose, &t.Email, &t.ClientID, &t.Staff, &t.Next, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return t, edge.Errorf(edge.ENotFound, "This link has expired or was already used.")
	}
	t.Created, t.Expires = fromMS(created), fromMS(expires)
	return t, err
}

// PeekToken implements edge.Store.
func (s *Store) PeekToken(ctx context.Context, hash string, now time.Time) (edge.Token, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ? AND used IS NULL AND expires > ?`, hash, ms(now))
	return scanToken(row)
}

// ConsumeToken implements edge.Store: one UPDATE ... RETURNING, so exactly
// one of concurrent callers gets the row.
func (s *Store) ConsumeToken(ctx context.Context, hash string, now time.Time) (edge.Token, error) {
	row := s.db.QueryRowContext(ctx, `UPDATE tokens SET used = ? WHERE hash = ? AND used IS NULL AND expires > ? RETURNING `+tokenCols, ms(now), hash, ms(now))
	return scanToken(row)
}

// Epochs implements edge.Store.
func (s *Store) Epochs(ctx context.Context) (map[string]int64, error) {
	return queryMap[int64](ctx, s.db, `SELECT client_id, epoch FROM epochs`)
}

// BumpEpoch implements edge.Store.
func (s *Store) BumpEpoch(ctx context.Context, clientID string) (int64, error) {
	var e int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO epochs (client_id, epoch) VALUES (?, 1)
		ON CONFLICT(client_id) DO UPDATE SET epoch = epoch + 1 RETURNING epoch`, clientID).Scan(&e)
	return e, err
}

// ContactEpochs implements edge.Store.
func (s *Store) ContactEpochs(ctx context.Context) (map[edge.ContactKey]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT client_id, email, epoch FROM contact_epochs`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[edge.ContactKey]int64{}
	for rows.Next() {
		var k edge.ContactKey
		var e int64
		if err := rows.Scan(&k.Client, &k.Email, &e); err != nil {
			return nil, err
		}
		m[k] = e
	}
	return m, rows.Err()
}

// BumpContactEpoch implements edge.Store.
func (s *Store) BumpContactEpoch(ctx context.Context, k edge.ContactKey) (int64, error) {
	var e int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO contact_epochs (client_id, email, epoch) VALUES (?, ?, 1)
		ON CONFLICT(client_id, email) DO UPDATE SET epoch = epoch + 1 RETURNING epoch`, k.Client, strings.ToLower(k.Email)).Scan(&e)
	return e, err
}

// RevokeSession implements edge.Store.
func (s *Store) RevokeSession(ctx context.Context, r edge.Revocation, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM revoked_sessions WHERE expires < ?`, ms(now)); err != nil {
		return fmt.Errorf("pruning revoked sessions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO revoked_sessions (id, expires) VALUES (?, ?) ON CONFLICT(id) DO NOTHING`, r.ID, ms(r.Expires)); err != nil {
		return fmt.Errorf("revoking a session: %w", err)
	}
	return tx.Commit()
}

// Revocations implements edge.Store.
func (s *Store) Revocations(ctx context.Context, after int64) ([]edge.Revocation, error) {
	return queryAll(ctx, s.db, func(r scanner) (edge.Revocation, error) {
		var v edge.Revocation
		var exp int64
		err := r.Scan(&v.Seq, &v.ID, &exp)
		v.Expires = fromMS(exp)
		return v, err
	}, `SELECT seq, id, expires FROM revoked_sessions WHERE seq > ? ORDER BY seq`, after)
}

// RecordLogin implements edge.Store.
func (s *Store) RecordLogin(ctx context.Context, l edge.Login) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO logins (email, client_id, staff, at, ip, ua) VALUES (?, ?, ?, ?, ?, ?)`,
		l.Email, l.ClientID, l.Staff, ms(l.At), l.IP, l.UA)
	return err
}

// Activity implements edge.Store.
func (s *Store) Activity(ctx context.Context) ([]edge.ContactActivity, error) {
	var out []edge.ContactActivity
	rows, err := s.db.QueryContext(ctx, `SELECT email, client_id, MIN(at), MAX(at), COUNT(*) FROM logins WHERE staff = '' GROUP BY email, client_id`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var a edge.ContactActivity
		var first, last int64
		if err := rows.Scan(&a.Email, &a.ClientID, &first, &last, &a.Logins); err != nil {
			rows.Close()
			return nil, err
		}
		a.Joined, a.LastLogin = fromMS(first), fromMS(last)
		out = append(out, a)
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, `SELECT email, client_id, at FROM invites`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a edge.ContactActivity
		var inv int64
		if err := rows.Scan(&a.Email, &a.ClientID, &inv); err != nil {
			return nil, err
		}
		a.Invited = fromMS(inv)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Delegations implements edge.Store.
func (s *Store) Delegations(ctx context.Context, limit int) ([]edge.Login, error) {
	return queryAll(ctx, s.db, func(r scanner) (edge.Login, error) {
		var l edge.Login
		var at int64
		err := r.Scan(&l.Email, &l.ClientID, &l.Staff, &at, &l.IP, &l.UA)
		l.At = fromMS(at)
		return l, err
	}, `SELECT email, client_id, staff, at, ip, ua FROM logins WHERE staff != '' ORDER BY at DESC LIMIT ?`, limit)
}

// SessionKeys implements edge.Store. Unless a key is due or one retires,
// it is one read; a change is decided again inside a write transaction
// (SQLite runs one at a time), so edges starting together make one key.
func (s *Store) SessionKeys(ctx context.Context, now time.Time, rotateAfter, retireAfter time.Duration) ([]edge.SessionKey, error) {
	keys, err := s.sessionKeys(ctx, s.db)
	if err != nil || !keysDue(keys, now, rotateAfter, retireAfter) {
		return keys, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if keys, err = s.sessionKeys(ctx, tx); err != nil {
		return nil, err
	}
	if len(keys) == 0 || now.Sub(keys[0].Created) >= rotateAfter {
		id, secret := newKey()
		if _, err := tx.ExecContext(ctx, `INSERT INTO session_keys (id, secret, created) VALUES (?, ?, ?)`, id, secret, ms(now)); err != nil {
			return nil, fmt.Errorf("new session key: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM session_keys WHERE created < ?`, ms(now.Add(-retireAfter))); err != nil {
		return nil, fmt.Errorf("retiring session keys: %w", err)
	}
	if keys, err = s.sessionKeys(ctx, tx); err != nil {
		return nil, err
	}
	return keys, tx.Commit()
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

func (s *Store) sessionKeys(ctx context.Context, db querier) ([]edge.SessionKey, error) {
	return queryAll(ctx, db, func(r scanner) (edge.SessionKey, error) {
		var k edge.SessionKey
		var created int64
		err := r.Scan(&k.ID, &k.Secret, &created)
		k.Created = fromMS(created)
		return k, err
	}, `SELECT id, secret, created FROM session_keys ORDER BY created DESC`)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, db querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
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
func queryMap[V any](ctx context.Context, db *sql.DB, query string, args ...any) (map[string]V, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]V{}
	for rows.Next() {
		var k string
		var v V
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, rows.Err()
}
