package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/finkit/finkit/auth"
)

func Example() {
	ctx := context.Background()
	svc, err := auth.New(auth.Options{
		Store:  auth.NewMemoryStore(),
		Params: auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, // tiny for the example; omit for OWASP defaults
	})
	if err != nil {
		panic(err)
	}
	_, err = svc.Register(ctx, auth.RegisterRequest{Username: "Alice", Password: "correct horse battery staple"})
	fmt.Println("register:", err)

	_, err = svc.Login(ctx, auth.Credentials{Username: "alice", Password: "wrong password, sorry"})
	fmt.Println("bad login:", errors.Is(err, auth.ErrInvalidCredentials))

	res, err := svc.Login(ctx, auth.Credentials{Username: "alice", Password: "correct horse battery staple"})
	if err != nil {
		panic(err)
	}
	user, _, err := svc.Validate(ctx, res.Token)
	fmt.Println("session user:", user.Username, user.Role, err)
	// Output:
	// register: <nil>
	// bad login: true
	// session user: alice user <nil>
}

func ExamplePolicy_CheckPassword() {
	policy := auth.Policy{MinLength: 8} // the default is 15
	for _, pw := range []string{"hunter2", "iloveyou", "my alice passphrase!", "a long and unusual passphrase"} {
		fmt.Println(policy.CheckPassword(pw, "alice"))
	}
	// Output:
	// auth: password rejected by policy: password too short: at least 8 characters, got 7
	// auth: password rejected by policy: password is too common: it is on a list of commonly used passwords
	// auth: password rejected by policy: password contains the username: choose one that does not include the username
	// <nil>
}

// ExampleService_Authenticate shows the middleware chain with CSRF
// protection from the standard library.
func ExampleService_Authenticate() {
	svc, err := auth.New(auth.Options{
		Store:  auth.NewMemoryStore(),
		Params: auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /login", svc.LoginHandler())
	mux.Handle("GET /admin", auth.RequireRole(auth.RoleAdmin)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "welcome")
	})))
	csrf := http.NewCrossOriginProtection()
	handler := csrf.Handler(svc.Authenticate(mux))

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin", nil))
	fmt.Println("anonymous:", rec.Code)

	req := httptest.NewRequest(http.MethodPost, "/login", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println("cross-site login:", rec.Code)
	// Output:
	// anonymous: 401
	// cross-site login: 403
}

func ExampleTOTP() {
	g := auth.TOTP{Secret: []byte("12345678901234567890"), Digits: 8}
	code, _ := g.CodeAt(1) // RFC 6238 test vector, T = 59 s
	fmt.Println(code)
	// Output: 94287082
}

// printSender is a ResetSender that prints instead of emailing.
type printSender struct{ token *string }

func (p printSender) SendPasswordReset(_ context.Context, m auth.ResetMessage) error {
	*p.token = m.Token // a real sender emails a link with it to m.User.Email
	fmt.Println("reset link sent to", m.User.Username)
	return nil
}

func ExampleService_RequestPasswordReset() {
	ctx := context.Background()
	var token string
	svc, err := auth.New(auth.Options{
		Store:       auth.NewMemoryStore(),
		Params:      auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		ResetSender: printSender{&token},
	})
	if err != nil {
		panic(err)
	}
	if _, err := svc.Register(ctx, auth.RegisterRequest{Username: "bob", Password: "correct horse battery staple"}); err != nil {
		panic(err)
	}
	fmt.Println("unknown user:", svc.RequestPasswordReset(ctx, "nobody")) // no hint either way
	fmt.Println("bob:", svc.RequestPasswordReset(ctx, "bob"))
	fmt.Println("reset:", svc.ResetPassword(ctx, token, "a new passphrase for the account", ""))
	err = svc.ResetPassword(ctx, token, "and once more with it", "")
	fmt.Println("again:", errors.Is(err, auth.ErrInvalidResetToken))
	_, err = svc.Login(ctx, auth.Credentials{Username: "bob", Password: "a new passphrase for the account"})
	fmt.Println("login:", err)
	// Output:
	// unknown user: <nil>
	// reset link sent to bob
	// bob: <nil>
	// reset: <nil>
	// again: true
	// login: <nil>
}

func ExampleService_Reauthenticate() {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	clock := auth.ClockFunc(func() time.Time { return now })
	svc, err := auth.New(auth.Options{
		Store:  auth.NewMemoryStore(),
		Params: auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		Clock:  clock,
	})
	if err != nil {
		panic(err)
	}
	const pw = "correct horse battery staple"
	if _, err := svc.Register(ctx, auth.RegisterRequest{Username: "carol", Password: pw}); err != nil {
		panic(err)
	}
	res, err := svc.Login(ctx, auth.Credentials{Username: "carol", Password: pw})
	if err != nil {
		panic(err)
	}
	now = now.Add(10 * time.Minute) // later in the same session
	_, err = svc.EnrollTOTP(ctx, res.Token)
	fmt.Println("enrol:", errors.Is(err, auth.ErrReauthRequired))

	res, err = svc.Reauthenticate(ctx, res.Token, pw, "") // the page asks for the password again
	fmt.Println("reauthenticate:", err)
	_, err = svc.EnrollTOTP(ctx, res.Token)
	fmt.Println("enrol:", err)
	// Output:
	// enrol: true
	// reauthenticate: <nil>
	// enrol: <nil>
}
