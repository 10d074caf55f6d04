package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite"

	"github.com/finkit/finkit/securechat"
	"github.com/finkit/finkit/securechat/sqlstore"
)

// A relay whose mailboxes survive restarts, in the SQLite file the
// dashboard shares with other finkit stores.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "chat")
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "finkit.db")+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	store, err := sqlstore.New(context.Background(), db, sqlstore.Options{})
	if err != nil {
		panic(err)
	}
	relay, err := securechat.NewRelay(securechat.RelayOptions{Store: store, Host: "chat.example.com", MessageTTL: 7 * 24 * time.Hour})
	if err != nil {
		panic(err)
	}
	defer relay.Close()
	// http.Handle("/chat/ws", relay)

	var n int
	db.QueryRow(`SELECT COUNT(*) FROM chat_schema_migrations`).Scan(&n)
	fmt.Println("migrations applied:", n)
	// Output: migrations applied: 3
}
