// Package edge will be the thin dynamic service in front of the bundles:
// passwordless login, sessions, payments and webhooks, approvals and
// requests. It is not written yet; until then `hub serve` previews the
// built output without logins (see docs/architecture.md).
package edge
