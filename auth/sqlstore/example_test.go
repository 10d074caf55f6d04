package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/auth/sqlstore"
	_ "modernc.org/sqlite"
)

func Example() {
	dir, err := os.MkdirTemp("", "finkit-auth")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "finkit.db")+
		"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	store, err := sqlstore.New(ctx, db, sqlstore.Options{}) // applies the embedded migrations
	if err != nil {
		panic(err)
	}
	defer store.Close()

	svc, err := auth.New(auth.Options{Store: store})
	if err != nil {
		panic(err)
	}
	if _, err := svc.Register(ctx, auth.RegisterRequest{Username: "root", Password: "a long administrator passphrase", Role: auth.RoleAdmin}); err != nil {
		panic(err)
	}
	_, err = svc.Register(ctx, auth.RegisterRequest{Username: "ROOT", Password: "another long passphrase"})
	fmt.Println(err)

	users, _ := svc.Users(ctx)
	for _, u := range users {
		fmt.Println(u.Username, u.Role)
	}
	// Output:
	// register "root": auth: username already taken
	// root admin
}
