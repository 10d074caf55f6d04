// Package testutil holds helpers that finkit's own tests share. It is
// internal: users of finkit must not depend on it.
package testutil
