package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/pgstore"
	"github.com/hubhq/hub/edge/sqlstore"
	"github.com/hubhq/hub/generator/events"
)

// The state store. -state names either a folder, for the embedded SQLite
// database (with the uploads and the file outbox beside it), or a
// PostgreSQL URL, shared by any number of edges (then -files names the
// folder for uploads and the file outbox, which those edges must share
// too, like the built site).

// stateStore is a store as hub's commands use it: the edge's parts, the
// staff's, and the facts the generator folds into pages.
type stateStore interface {
	edge.Store
	edge.StaffStore
	events.Source
	Close() error
}

const (
	stateUsage = "the edge's state: a folder for the embedded SQLite database, or a PostgreSQL URL such as postgres://hub@db.internal/hub (env HUB_STATE)"
	filesUsage = "folder for request photos and the file outbox; edges sharing a PostgreSQL state must share it (env HUB_FILES; default: the state folder, or .hub/files with PostgreSQL)"
)

// isStateURL says whether -state is a PostgreSQL URL.
func isStateURL(state string) bool {
	return strings.HasPrefix(state, "postgres://") || strings.HasPrefix(state, "postgresql://")
}

// openState opens the store -state names. With existing, a folder without
// a database gives nil and no error (hub build reads facts only where an
// edge has run).
func openState(ctx context.Context, state string, existing bool) (stateStore, error) {
	if isStateURL(state) {
		return openPostgres(ctx, state)
	}
	open := sqlstore.Open
	if existing {
		open = sqlstore.OpenExisting
	}
	st, err := open(state)
	if err != nil || st == nil {
		return nil, err // never a nil *sqlstore.Store in a non-nil interface
	}
	return st, nil
}

// openPostgres opens a PostgreSQL state store, migrating its schema.
func openPostgres(ctx context.Context, url string) (stateStore, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := pgstore.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("-state %s: %w", redactURL(url), err)
	}
	return st, nil
}

// filesDir is the folder for uploads and the file outbox.
func filesDir(state, files string) string {
	switch {
	case files != "":
		return files
	case isStateURL(state):
		return filepath.Join(".hub", "files")
	}
	return state
}

// redactURL hides a URL's password, for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(an invalid URL)"
	}
	return u.Redacted()
}
