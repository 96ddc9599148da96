// Package edge is the thin dynamic service in front of the static bundles:
// passwordless login by email, session cookies, serving each client only
// its own bundle, and (in later features) payments, approvals and requests.
//
// Its dependencies are small interfaces declared here (Store, Mailer);
// adapters live in their own packages (edge/sqlstore, edge/mailer) and
// cmd/hub wires them. The edge reads builds through generator/bundle (the
// format) and never imports the generator itself.
package edge

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes, mapped to HTTP statuses in one place (StatusOf).
const (
	EInvalid      = "invalid"
	ENotFound     = "not_found"
	EUnauthorized = "unauthorized"
	EForbidden    = "forbidden"
	EConflict     = "conflict"
	ETooMany      = "too_many_requests"
	ETooLarge     = "too_large"
	EUnavailable  = "unavailable"
	EInternal     = "internal"
)

// ErrUnavailable marks an error of a store that cannot be reached (the
// database is down or restarting): the edge answers 503 with Retry-After
// to what would change state, and keeps serving what it can authorise
// from memory.
var ErrUnavailable = errors.New("state store unavailable")

// Error is an error with a code and a message a person may read. Internal
// details go in Err, which is logged and never shown.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an *Error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: EUnavailable for a store that cannot
// be reached, EInternal for errors without one.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, ErrUnavailable):
		return EUnavailable
	}
	return EInternal
}

// ErrorMessage returns what a person may be told about err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	if errors.Is(err, ErrUnavailable) {
		return "We cannot record anything just now: nothing was saved. Please try again in a minute."
	}
	return "Something went wrong on our side. Please try again in a moment."
}

// StatusOf maps an error code to an HTTP status.
func StatusOf(code string) int {
	switch code {
	case EInvalid:
		return http.StatusBadRequest
	case ENotFound:
		return http.StatusNotFound
	case EUnauthorized:
		return http.StatusUnauthorized
	case EForbidden:
		return http.StatusForbidden
	case EConflict:
		return http.StatusConflict
	case ETooMany:
		return http.StatusTooManyRequests
	case ETooLarge:
		return http.StatusRequestEntityTooLarge
	case EUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
