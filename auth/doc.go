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
// upgraded. At most GOMAXPROCS hashes run at once (Options.HashConcurrency),
// so a login flood waits instead of allocating 19 MiB per attempt; waiting
// callers give up when their context ends. The bound caps live hashing
// memory; the Go garbage collector may still let freed hashing buffers pile
// up to about twice the live heap before collecting, so a server should
// also set GOMEMLIMIT (or debug.SetMemoryLimit), e.g. to the hashing limit
// × 20 MiB + 64 MiB. Measured with 200 concurrent logins and a limit of 2:
// peak RSS 124 MiB with the default GOGC alone, 86 MiB with
// GOMEMLIMIT=80MiB, and 1.9 GiB with the limit raised to 50
// (auth/internal/loginflood).
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
// per account and per client IP (an IPv6 client by its /64) with token
// buckets and doubling lockouts; a throttled Login returns a *ThrottleError
// whose RetryAfter WriteError turns into 429 and a Retry-After header.
// Disabled users cannot log in and their sessions stop working.
//
// # Sessions
//
// A session token is 256 random bits; only its SHA-256 is stored. Sessions
// end after an idle timeout (30 min) and an absolute timeout (24 h). Login,
// ChangePassword, SetRole and Rotate issue new tokens, so a token planted
// before login is useless. Browsers carry the token in a cookie that is
// HttpOnly, SameSite=Lax, Secure and named with the __Host- prefix
// (CookieConfig.InsecureLocalhost relaxes the last two for plain-HTTP
// development); API clients such as the CLI send "Authorization: Bearer".
// LastSeenAt is written at most once a minute, so validating a session is
// usually a single read.
//
// # Two-factor authentication
//
// EnrollTOTP creates an RFC 6238 secret and otpauth:// URI; ConfirmTOTP
// turns it on with a first code and returns ten single-use recovery codes,
// stored hashed. Login then needs a code (ErrTOTPRequired without one); a
// code is accepted one step either side of now and only once.
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
// password changes and two-factor events go to Options.Logger through
// logging.Audit with the user, client IP and request ID — never a
// password, token or code.
package auth
