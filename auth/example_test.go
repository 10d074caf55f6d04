package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

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
