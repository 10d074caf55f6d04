package auth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/finkit/finkit/logging"
)

// CookieConfig configures the session cookie. The cookie is always
// HttpOnly, SameSite=Lax and Path=/; it is Secure and its name carries the
// __Host- prefix unless InsecureLocalhost is set for plain-HTTP development.
type CookieConfig struct {
	// Name is the cookie name without prefix (default "finkit_session").
	Name string
	// InsecureLocalhost drops Secure and the __Host- prefix so the cookie
	// works over http://localhost. Never set it in production.
	InsecureLocalhost bool
	// deviceName is the name of the device cookie: Name + "_device".
	deviceName string
}

func (c CookieConfig) withDefaults() CookieConfig {
	if c.Name == "" {
		c.Name = "finkit_session"
	}
	c.Name = strings.TrimPrefix(c.Name, "__Host-")
	c.deviceName = c.Name + "_device"
	if !c.InsecureLocalhost {
		c.Name = "__Host-" + c.Name
		c.deviceName = "__Host-" + c.deviceName
	}
	return c
}

// CookieName returns the name of the session cookie.
func (s *Service) CookieName() string { return s.cookie.Name }

// SessionCookie returns the cookie carrying res.Token, expiring with the
// session's absolute timeout.
func (s *Service) SessionCookie(res LoginResult) *http.Cookie {
	return &http.Cookie{
		Name: s.cookie.Name, Value: res.Token, Path: "/",
		Expires: res.Session.ExpiresAt, HttpOnly: true, Secure: !s.cookie.InsecureLocalhost,
		SameSite: http.SameSiteLaxMode,
	}
}

// SetSessionCookie sets the session cookie for res on w and, when res
// carries a device token (a login), the device cookie: HttpOnly, like the
// session cookie, lasting DeviceTokenLifetime and kept at logout, so the
// next login from this browser counts as one from a known device.
func (s *Service) SetSessionCookie(w http.ResponseWriter, res LoginResult) {
	http.SetCookie(w, s.SessionCookie(res))
	if res.DeviceToken != "" {
		http.SetCookie(w, &http.Cookie{
			Name: s.cookie.deviceName, Value: res.DeviceToken, Path: "/",
			MaxAge: int(DeviceTokenLifetime / time.Second), HttpOnly: true, Secure: !s.cookie.InsecureLocalhost,
			SameSite: http.SameSiteLaxMode,
		})
	}
}

// DeviceTokenFromRequest returns the device token of r's device cookie.
func (s *Service) DeviceTokenFromRequest(r *http.Request) string {
	if c, err := r.Cookie(s.cookie.deviceName); err == nil {
		return c.Value
	}
	return ""
}

// ClearSessionCookie deletes the session cookie.
func (s *Service) ClearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookie.Name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: !s.cookie.InsecureLocalhost, SameSite: http.SameSiteLaxMode,
	})
}

// TokenFromRequest returns the session token of r: an
// "Authorization: Bearer" token if present, else the session cookie.
func (s *Service) TokenFromRequest(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	if c, err := r.Cookie(s.cookie.Name); err == nil {
		return c.Value
	}
	return ""
}

// remoteIP is the default Options.ClientIP: the logging middleware's client
// address, else the host part of RemoteAddr.
func remoteIP(r *http.Request) string {
	if ip := logging.ClientIPFrom(r.Context()); ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clientOf builds the Client of r.
func (s *Service) clientOf(r *http.Request) Client {
	// The request id of the logging middleware, when the request came
	// through it, so audit records match the access log; otherwise the
	// client's header if it is a sane id (the same rule the middleware
	// applies), since it ends up in the audit log.
	rid := logging.RequestIDFrom(r.Context())
	if rid == "" {
		if h := r.Header.Get(logging.RequestIDHeader); logging.ValidRequestID(h) {
			rid = h
		}
	}
	return Client{IP: s.clientIP(r), UserAgent: r.UserAgent(), RequestID: rid}
}

// UserFrom returns the authenticated user Authenticate put in ctx.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userCtxKey).(User)
	return u, ok
}

// SessionFrom returns the session Authenticate put in ctx.
func SessionFrom(ctx context.Context) (Session, bool) {
	s, ok := ctx.Value(sessionCtxKey).(Session)
	return s, ok
}

// WithUser returns ctx carrying u and sess as the authenticated user, as
// Authenticate does. Useful for adapters and tests.
func WithUser(ctx context.Context, u User, sess Session) context.Context {
	ctx = context.WithValue(ctx, userCtxKey, u)
	return context.WithValue(ctx, sessionCtxKey, sess)
}

// Authenticate is middleware that records the Client (IP, user agent,
// X-Request-ID) in the request context and, when the request carries a
// valid session (bearer token or cookie), the user and session too, for
// UserFrom and SessionFrom. Requests without a valid session pass through
// anonymously; guard routes with RequireUser or RequireRole.
func (s *Service) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := WithClient(r.Context(), s.clientOf(r))
		if tok := s.TokenFromRequest(r); tok != "" {
			u, sess, err := s.Validate(ctx, tok)
			switch {
			case err == nil:
				ctx = WithUser(ctx, u, sess)
			case errors.Is(err, ErrUnauthenticated):
			default:
				// A client that left is not a server error (its look-up
				// failed because the request's context ended).
				if s.log != nil && ctx.Err() == nil {
					s.log.ErrorContext(ctx, "auth: validating session", slog.String("error", err.Error()))
				}
				WriteError(w, err)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// RequireUser is middleware answering 401 Unauthorized unless Authenticate
// found a user.
func RequireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := UserFrom(r.Context()); !ok {
			WriteError(w, ErrUnauthenticated)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireRole returns middleware answering 401 to anonymous requests and
// 403 Forbidden to users without role. Admins pass any role check.
func RequireRole(role Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, ok := UserFrom(r.Context())
			if !ok {
				WriteError(w, ErrUnauthenticated)
				return
			}
			if u.Role != role && u.Role != RoleAdmin {
				WriteError(w, ErrForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequireRecentAuth is middleware answering 401 to anonymous requests and
// 403 with code "reauth_required" unless the request's session
// authenticated recently enough for a sensitive change (CheckRecentAuth);
// the client then calls Reauthenticate and retries. Put it after
// Authenticate on account-settings routes.
func (s *Service) RequireRecentAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := UserFrom(r.Context())
		sess, _ := SessionFrom(r.Context())
		if !ok {
			WriteError(w, ErrUnauthenticated)
			return
		}
		if err := s.CheckRecentAuth(r.Context(), u, sess); err != nil {
			WriteError(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errorBody is the JSON body of an error response.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// StatusOf maps an error from this package to an HTTP status and a short
// machine-readable code.
func StatusOf(err error) (status int, code string) {
	switch {
	case errors.Is(err, ErrTooManyAttempts):
		return http.StatusTooManyRequests, "too_many_attempts"
	case errors.Is(err, ErrTOTPRequired):
		return http.StatusUnauthorized, "totp_required"
	case errors.Is(err, ErrInvalidTOTP):
		return http.StatusUnauthorized, "invalid_totp"
	case errors.Is(err, ErrInvalidCredentials):
		return http.StatusUnauthorized, "invalid_credentials"
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized, "unauthenticated"
	case errors.Is(err, ErrAccountDisabled):
		return http.StatusForbidden, "account_disabled"
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, ErrReauthRequired):
		return http.StatusForbidden, "reauth_required"
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, ErrLastAdmin):
		return http.StatusConflict, "last_admin"
	case errors.Is(err, ErrInvalidResetToken):
		return http.StatusBadRequest, "invalid_reset_token"
	case errors.Is(err, ErrResetUnavailable):
		return http.StatusNotFound, "reset_unavailable"
	case errors.Is(err, ErrUsernameTaken):
		return http.StatusConflict, "username_taken"
	case errors.Is(err, ErrWeakPassword), errors.Is(err, ErrInvalidUsername),
		errors.Is(err, ErrInvalidEmail), errors.Is(err, ErrInvalidRole):
		return http.StatusBadRequest, "invalid_input"
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "not_found"
	default:
		return http.StatusInternalServerError, "internal"
	}
}

// messages are the plain sentences Message gives for StatusOf's codes
// (invalid_input says what was wrong with the input instead).
var messages = map[string]string{
	"too_many_attempts":   "Too many failed attempts. Try again later.",
	"totp_required":       "A two-factor code is required.",
	"invalid_totp":        "The two-factor code is wrong or was already used.",
	"invalid_credentials": "Wrong username or password.",
	"unauthenticated":     "Sign in first.",
	"account_disabled":    "This account is disabled.",
	"forbidden":           "You are not allowed to do this.",
	"reauth_required":     "Enter your password again to do this.",
	"conflict":            "Something else changed it at the same time. Try again.",
	"last_admin":          "The last admin cannot be demoted, disabled or deleted.",
	"invalid_reset_token": "This password reset link is invalid or has expired.",
	"reset_unavailable":   "Password reset is not available.",
	"username_taken":      "That username is taken.",
	"not_found":           "Not found.",
	"internal":            "Internal error.",
}

// Message is what a person is told about err: a plain sentence for its
// StatusOf code, without the package's error chain. Invalid input says
// what was wrong with it ("Password rejected by policy: password is too
// common.").
func Message(err error) string {
	_, code := StatusOf(err)
	if m, ok := messages[code]; ok {
		return m
	}
	msg := strings.ReplaceAll(err.Error(), "auth: ", "")
	if msg == "" {
		return "Invalid input."
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// WriteError writes err as a JSON error response with the status and code
// from StatusOf and Message's sentence. A throttling error gets a
// Retry-After header in whole seconds; a 401 gets WWW-Authenticate.
// Internal errors are not described.
func WriteError(w http.ResponseWriter, err error) {
	status, code := StatusOf(err)
	msg := Message(err)
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="finkit"`)
	case http.StatusTooManyRequests:
		if d, ok := RetryAfter(err); ok {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(d)))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: code, Message: msg})
}

// LoginHandler handles POST logins with fields username, password and
// (with two-factor authentication) code, as a form or as JSON. A form
// login sets the session cookie; a JSON login (an API client such as the
// CLI) gets the token in the response to send as a bearer token. Either
// way the body is {"user":…,"session":…} plus "token" for JSON.
// Wrap it in http.CrossOriginProtection like every state-changing route.
func (s *Service) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		ctx := r.Context()
		if ClientFrom(ctx) == (Client{}) {
			ctx = WithClient(ctx, s.clientOf(r))
		}
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		var cr Credentials
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		isJSON := mt == "application/json"
		if isJSON {
			var in struct {
				Username    string `json:"username"`
				Password    string `json:"password"`
				Code        string `json:"code"`
				DeviceToken string `json:"device_token"`
			}
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				writeJSON(w, http.StatusBadRequest, errorBody{Error: "bad_request", Message: "invalid JSON body"})
				return
			}
			cr = Credentials{Username: in.Username, Password: in.Password, Code: in.Code, DeviceToken: in.DeviceToken}
		} else {
			if err := r.ParseForm(); err != nil {
				writeJSON(w, http.StatusBadRequest, errorBody{Error: "bad_request", Message: "invalid form body"})
				return
			}
			cr = Credentials{Username: r.PostForm.Get("username"), Password: r.PostForm.Get("password"), Code: r.PostForm.Get("code")}
		}
		if cr.DeviceToken == "" {
			cr.DeviceToken = s.DeviceTokenFromRequest(r)
		}
		cr.PreviousToken = s.TokenFromRequest(r)
		res, err := s.Login(ctx, cr)
		if err != nil {
			WriteError(w, err)
			return
		}
		if !isJSON {
			s.SetSessionCookie(w, res)
			res.Token, res.DeviceToken = "", ""
		}
		writeJSON(w, http.StatusOK, res)
	})
}

// LogoutHandler handles POST logouts: it ends the request's session
// (cookie or bearer) and clears the cookie. It answers 204.
func (s *Service) LogoutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		ctx := r.Context()
		if ClientFrom(ctx) == (Client{}) {
			ctx = WithClient(ctx, s.clientOf(r))
		}
		if err := s.Logout(ctx, s.TokenFromRequest(r)); err != nil {
			WriteError(w, err)
			return
		}
		s.ClearSessionCookie(w)
		w.WriteHeader(http.StatusNoContent)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// retryAfterSeconds is RetryAfter rounded up to whole seconds.
func retryAfterSeconds(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }
