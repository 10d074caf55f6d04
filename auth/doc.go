// Package auth is registration, login, sessions, roles and two-factor
// authentication for net/http apps, built to pass an OWASP ASVS review.
//
// A Service is built from Options around a Store (NewMemoryStore, or
// auth/sqlstore on a *sql.DB):
//
//	svc, err := auth.New(auth.Options{Store: store, Logger: auditLogger})
//	u, err := svc.Register(ctx, auth.RegisterRequest{Username: "alice", Password: pw})
//	res, err := svc.Login(ctx, auth.Credentials{Username: "alice", Password: pw})
//	user, session, err := svc.Validate(ctx, res.Token)
//
// # Passwords
//
// Passwords are hashed with argon2id at OWASP's parameters (m = 19 MiB,
// t = 2, p = 1) into PHC strings, verified in constant time, and rehashed
// on login when the parameters change; legacy bcrypt hashes verify and are
// upgraded (a password over bcrypt's 72 bytes never matches a bcrypt hash,
// since bcrypt would compare only its first 72 bytes). Hashing runs within a memory budget of HashConcurrency
// (default GOMAXPROCS) × m: a login flood waits instead of allocating
// 19 MiB per attempt, a stored hash with a larger m (legacy or tampered)
// takes a larger share of the budget instead of adding to it, and waiting
// callers give up when their context ends. The budget caps live hashing
// memory; the Go garbage collector may still let freed hashing buffers pile
// up to about twice the live heap before collecting, so a server that must
// stay within a memory bound should also set GOMEMLIMIT (or
// debug.SetMemoryLimit in main), e.g. to the hashing limit × 20 MiB +
// 32 MiB; a library must not change that process-wide setting itself.
// Measured with auth/internal/loginflood (200 simultaneous logins, 200
// accounts, hashing limit 2, so a bound of 2 × 20 + 64 = 104 MiB): peak RSS
// 86-88 MiB with the 72 MiB soft limit loginflood sets like a configured
// server, 124-130 MiB with GOGC alone, and 105 MiB with an 88 MiB limit.
// The limit is not free: the runtime returns freed hashing buffers to the
// OS and faults them in again (about 4× the page faults and 1.5 s more
// system CPU over 400 hashes).
//
// The policy follows NIST SP 800-63B: at least 15 characters by default
// (never below 8), at most 256 (never below 64; 1,024 bytes is a hard
// limit), no composition rules, any Unicode (NFKC-normalized before
// checking and hashing), not one of the 10,000 most common passwords
// (embedded, see common-passwords-10k.SOURCE.md) and not containing the
// username. A rejection wraps ErrWeakPassword and the rule that failed.
//
// # Login
//
// Login returns ErrInvalidCredentials for an unknown user and for a wrong
// password alike, after the same hashing work. Failed logins are throttled
// (see Throttle) per account and client together and per client IP (an
// IPv6 client by its /64), with token buckets and doubling lockouts, so an
// attacker's failures lock out the attacker's own address, not the
// victim's; and per account over all clients, with a far higher limit
// that slows the account instead of locking it and does not slow a login
// presenting the device token of an earlier successful login
// (Credentials.DeviceToken; the device cookie SetSessionCookie sets). A
// throttled Login returns a *ThrottleError whose RetryAfter WriteError
// turns into 429 and a Retry-After header. Attempts still being verified
// count against the bucket, so a burst of simultaneous guesses gets no
// more tries than sequential ones would.
//
// The throttling state lives in a ThrottleStore: the Store itself when it
// is one (MemoryStore and auth/sqlstore are), so that several instances of
// an application on one database count attempts as one and guesses spread
// over them gain nothing, a burst of concurrent guesses across instances
// included; otherwise the Service's own memory.
// Behind a reverse proxy the client IP comes from the logging middleware
// (logging.ClientIPFrom, trusting only its configured proxies) or from
// Options.ClientIP.
// Disabled users cannot log in and their sessions stop working; a login
// with the right password to a disabled account answers as for a wrong one
// unless the caller asks (Credentials.ShowDisabled), and counts as a
// failure.
//
// # Sessions
//
// A session token is 256 random bits; only its SHA-256 is stored. Sessions
// end after an idle timeout (30 min) and an absolute timeout (24 h) set at
// login, which Rotate and Reauthenticate keep. Login, Reauthenticate,
// ChangePassword, SetRole and Rotate issue new tokens, so a token planted
// before login is useless, and an old token is replaced at most once.
// Logging in again over a live session ends it (Credentials.PreviousToken;
// LoginHandler fills it in).
//
// Session times are written by whichever instance served the request: the
// store trusts every instance's clock, but only within a minute. A session
// created further in the future is refused, a last use in the future is
// rewritten to now (so it still idles out), and no session outlives the
// absolute timeout after its creation, whatever expiry was stored.
//
// Every user has a credential version that grows with each change of the
// password, second factor, role or disabled flag, in the same store write
// as the change and the end of the user's sessions. A session records the
// version it was made under and Validate refuses it once they differ, so
// a login that verified the old password while it was being changed
// cannot leave a session behind. The transparent rehash after a login
// writes only if the stored hash is still the one verified
// (UserChange.IfPasswordHash), so it never reverts a password change.
//
// # Re-authentication
//
// A session records when and how it last authenticated (AuthenticatedAt,
// AuthMethod). Sensitive changes — ChangePassword, EnrollTOTP, ConfirmTOTP,
// DisableTOTP, RegenerateRecoveryCodes, and the routes an application
// wraps in RequireRecentAuth — need a session that authenticated within
// Options.ReauthWindow (5 min) and, for a user with two-factor
// authentication, with the second factor; otherwise they return
// ErrReauthRequired (403 "reauth_required"), and the client calls
// Reauthenticate with the password (and a code), which replaces the
// session with a fresh one. Browsers carry the token in a cookie that is
// HttpOnly, SameSite=Lax, Secure and named with the __Host- prefix
// (CookieConfig.InsecureLocalhost relaxes the last two for plain-HTTP
// development); API clients such as the CLI send "Authorization: Bearer".
// LastSeenAt is written at most once a minute, so validating a session is
// usually a single read.
//
// # Two-factor authentication
//
// EnrollTOTP creates an RFC 6238 secret and otpauth:// URI; ConfirmTOTP
// turns it on with a first code and returns ten single-use recovery codes
// of 120 random bits, stored hashed, in one store write that also ends the
// user's other sessions. Login then needs a code (ErrTOTPRequired without
// one); a code is accepted one step either side of now and only once.
// With Options.SecretKey, TOTP secrets are encrypted at rest
// (XChaCha20-Poly1305 under a key derived from it, bound to the user).
//
// # Roles
//
// The last enabled admin can be neither demoted nor disabled
// (ErrLastAdmin); the store decides it in the same write, so two admins
// demoting each other at once leave one.
//
// # Password reset
//
// RequestPasswordReset sends a link through the application's
// Options.ResetSender (email; the demo dashboard writes it to its log)
// and answers nil whether or not the account exists. The link carries a
// 256-bit token stored as its SHA-256; it works once, for 15 minutes, and
// only the newest one works. ResetPassword sets the new password, asks
// for the second factor when the user has one (a reset never bypasses
// it), and ends the link and every session in one store write. Build the
// link from configuration, never from a request's Host header.
//
// # Hooks and limits
//
// Options.Notifier is told of new logins and password and second-factor
// changes, to warn the user of what they did not do; Options.Breached
// checks new passwords against breach corpora beside the embedded
// blocklist (ErrPasswordBreached; an error refuses the password).
// DeleteUser removes a user with their sessions and secrets in one store
// write. Options.MaxSessions ends a user's oldest sessions beyond a limit.
//
// # HTTP and CSRF
//
// Service.Authenticate loads the user from the cookie or bearer token into
// the request context (UserFrom); RequireUser answers 401 and
// RequireRole(RoleAdmin) 403 to a logged-in non-admin. Cross-site request
// forgery is stopped by the standard library's http.CrossOriginProtection,
// which rejects cross-origin non-GET/HEAD/OPTIONS browser requests using
// Sec-Fetch-Site and Origin. Wrap the whole mux once, outside Authenticate:
//
//	mux := http.NewServeMux()
//	mux.Handle("POST /login", svc.LoginHandler())
//	mux.Handle("POST /logout", svc.LogoutHandler())
//	mux.Handle("/admin/", auth.RequireRole(auth.RoleAdmin)(adminHandler))
//	csrf := http.NewCrossOriginProtection()
//	// csrf.AddTrustedOrigin("https://app.example.com") for a separate front end
//	srv := &http.Server{Handler: csrf.Handler(svc.Authenticate(mux))}
//
// The Gin dashboard does the same by wrapping its gin.Engine:
// csrf.Handler(svc.Authenticate(engine)). State must never change on GET.
// SameSite=Lax cookies are a second line of defence.
//
// # Audit
//
// Registrations, login successes, failures and lockouts, role changes,
// password changes and resets, re-authentications, deletions and
// two-factor events go to Options.Logger through
// logging.Audit with the user, client IP and request ID — never a
// password, token or code.
package auth
