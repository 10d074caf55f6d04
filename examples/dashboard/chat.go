package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/examples/internal/chatlink"
	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/securechat"
)

// The browser chat: the page (templates/chat.html, static/chat/), the
// WebAssembly client it runs (chatwasm, embedded below) and the directory
// API that links each account to the public key of its chat identity.
// Encryption happens in the browser; this server relays ciphertext
// (/chat/ws) and keeps public keys only.

//go:embed static/chat/chat.wasm.gz
var chatWasmGz []byte

//go:embed migrations/*.sql
var chatMigrations embed.FS

// chatPageCSP is the chat page's Content-Security-Policy: the dashboard's,
// plus 'wasm-unsafe-eval', without which the browser refuses to compile
// the WebAssembly client. It allows no other script than our own files.
var chatPageCSP = strings.Replace(contentSecurityPolicy, "script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", 1)

// chatDirectory is the account ↔ chat identity table.
type chatDirectory struct {
	db *sql.DB
	d  sqlmigrate.Dialect
}

func openChatDirectory(ctx context.Context, db *sql.DB, postgres bool) (*chatDirectory, error) {
	d := sqlmigrate.SQLite
	if postgres {
		d = sqlmigrate.Postgres
	}
	if err := sqlmigrate.Apply(ctx, db, chatMigrations, sqlmigrate.Options{Dir: "migrations", Table: "dashboard_chat_schema_migrations", Dialect: d}); err != nil {
		return nil, fmt.Errorf("chat directory: %w", err)
	}
	return &chatDirectory{db: db, d: d}, nil
}

// errKeyTaken reports a public identity already linked to another account.
var errKeyTaken = errors.New("this chat key belongs to another account")

type chatEntry struct {
	UserID  string
	Peer    securechat.PeerID
	Public  string // base64 of securechat.PublicIdentity.Marshal
	Updated time.Time
}

// link sets userID's identity to pub, replacing any earlier one. Links
// take turns (the table is locked on PostgreSQL, SQLite has one writer):
// two racing links of one key would both pass the owner check, and the
// loser would fail on the unique key instead of getting errKeyTaken.
func (cd *chatDirectory) link(ctx context.Context, userID string, pub securechat.PublicIdentity) error {
	tx, err := sqlmigrate.BeginWrite(ctx, cd.db, cd.d)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.LockTables(ctx, "dashboard_chat_identities"); err != nil {
		return err
	}
	var owner string
	err = tx.QueryRowContext(ctx, cd.d.Rebind(`SELECT user_id FROM dashboard_chat_identities WHERE peer_id = ?`), string(pub.ID())).Scan(&owner)
	switch {
	case err == nil && owner != userID:
		return errKeyTaken
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return err
	}
	if _, err := tx.ExecContext(ctx, cd.d.Rebind(`DELETE FROM dashboard_chat_identities WHERE user_id = ?`), userID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, cd.d.Rebind(`INSERT INTO dashboard_chat_identities (user_id, peer_id, public_identity, updated_at) VALUES (?, ?, ?, ?)`),
		userID, string(pub.ID()), base64.StdEncoding.EncodeToString(pub.Marshal()), time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

// entries returns every published identity by user id.
func (cd *chatDirectory) entries(ctx context.Context) (map[string]chatEntry, error) {
	rows, err := cd.db.QueryContext(ctx, `SELECT user_id, peer_id, public_identity, updated_at FROM dashboard_chat_identities`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]chatEntry{}
	for rows.Next() {
		var e chatEntry
		var ms int64
		if err := rows.Scan(&e.UserID, &e.Peer, &e.Public, &ms); err != nil {
			return nil, err
		}
		e.Updated = time.UnixMilli(ms).UTC()
		out[e.UserID] = e
	}
	return out, rows.Err()
}

// chatContact is one entry of the directory API.
type chatContact struct {
	UserID   string    `json:"user_id"`
	Username string    `json:"username"`
	PeerID   string    `json:"peer_id"`
	Public   string    `json:"public"`
	Updated  time.Time `json:"updated"`
}

type chatDirectoryJSON struct {
	Me       chatContact   `json:"me"`
	Host     string        `json:"host"`
	Contacts []chatContact `json:"contacts"`
}

// chatDirectoryGet answers GET /api/chat/directory: the caller's own link
// (peer_id empty when none) and every other enabled account that has
// published a key, by username.
func (a *app) chatDirectoryGet(c *gin.Context) {
	ctx := c.Request.Context()
	me := currentUser(c)
	entries, err := a.chatDir.entries(ctx)
	if err != nil {
		a.failJSON(c, err)
		return
	}
	users, err := a.auth.Users(ctx)
	if err != nil {
		a.failJSON(c, err)
		return
	}
	out := chatDirectoryJSON{Me: chatContact{UserID: me.ID, Username: me.Username}, Host: a.cfg.relayHost(), Contacts: []chatContact{}}
	if e, ok := entries[me.ID]; ok {
		out.Me.PeerID, out.Me.Public, out.Me.Updated = string(e.Peer), e.Public, e.Updated
	}
	for _, u := range users {
		e, ok := entries[u.ID]
		if !ok || u.ID == me.ID || u.Disabled {
			continue
		}
		out.Contacts = append(out.Contacts, chatContact{UserID: u.ID, Username: u.Username, PeerID: string(e.Peer), Public: e.Public, Updated: e.Updated})
	}
	sort.Slice(out.Contacts, func(i, j int) bool { return out.Contacts[i].Username < out.Contacts[j].Username })
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// maxLinkBody bounds PUT /api/chat/identity (a 128-byte identity and a
// 64-byte signature in base64, plus JSON).
const maxLinkBody = 4 << 10

// chatIdentityPut answers PUT /api/chat/identity {"public":B64,"proof":B64}:
// the caller links its account to the public identity, which must carry a
// valid binding and sign chatlink.Statement for this dashboard's host and
// the caller's user id. Only public keys reach the server.
func (a *app) chatIdentityPut(c *gin.Context) {
	me := currentUser(c)
	var req struct {
		Public string `json:"public"`
		Proof  string `json:"proof"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxLinkBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.Decode(&struct{}{}) != io.EOF {
		c.JSON(http.StatusBadRequest, gin.H{"error": "expected {\"public\": ..., \"proof\": ...}"})
		return
	}
	raw, err1 := base64.StdEncoding.DecodeString(req.Public)
	proof, err2 := base64.StdEncoding.DecodeString(req.Proof)
	if err1 != nil || err2 != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "public and proof must be base64"})
		return
	}
	pub, err := securechat.ParsePublicIdentity(raw)
	if err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "not a valid chat identity"})
		return
	}
	if err := chatlink.Verify(pub, a.cfg.relayHost(), me.ID, proof); err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "the identity did not sign this link"})
		return
	}
	if err := a.chatDir.link(c.Request.Context(), me.ID, pub); err != nil {
		if errors.Is(err, errKeyTaken) {
			c.JSON(http.StatusConflict, gin.H{"error": errKeyTaken.Error()})
			return
		}
		a.failJSON(c, err)
		return
	}
	a.log.InfoContext(c.Request.Context(), "chat identity linked", "peer", pub.ID())
	c.JSON(http.StatusOK, gin.H{"peer_id": pub.ID()})
}

// failJSON logs err and answers a JSON 500 without its text.
func (a *app) failJSON(c *gin.Context, err error) {
	a.log.ErrorContext(c.Request.Context(), "request failed", "error", err)
	c.JSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
}

type chatView struct {
	UserID   string
	Username string
}

func (a *app) chatPage(c *gin.Context) {
	me := currentUser(c)
	c.Header("Content-Security-Policy", chatPageCSP)
	a.render(c, http.StatusOK, "chat", view{Title: "Encrypted chat", Active: "chat", Data: chatView{UserID: me.ID, Username: me.Username}})
}

// chatWasmETag names the embedded build.
var chatWasmETag = func() string {
	sum := sha256.Sum256(chatWasmGz)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}()

// chatWasm serves the WebAssembly client gzip-compressed (as embedded),
// or decompressed to a client that does not accept gzip.
func (a *app) chatWasm(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Type", "application/wasm")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", chatWasmETag)
	h.Set("Vary", "Accept-Encoding")
	if c.GetHeader("If-None-Match") == chatWasmETag {
		c.Status(http.StatusNotModified)
		return
	}
	if acceptsGzip(c.GetHeader("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		c.Data(http.StatusOK, "application/wasm", chatWasmGz)
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(chatWasmGz))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusOK)
	_, _ = io.Copy(c.Writer, zr)
}

// acceptsGzip reports whether an Accept-Encoding header (its field
// lines joined with commas) accepts gzip (RFC 9110 §12.5.3): gzip, or its
// alias x-gzip, listed with a non-zero weight, or else "*" with one. A
// weight of 0 (q=0, 0.0, 0.00, 0.000) refuses, and so does one that is no
// number from 0 to 1: a client whose header cannot be read gets the body
// as it is, which every client can read. No header is no gzip.
func acceptsGzip(header string) bool {
	gz, star := -1.0, -1.0 // the weights listed; -1 for none
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip", "x-gzip":
			gz = max(gz, codingWeight(params))
		case "*":
			star = max(star, codingWeight(params))
		}
	}
	if gz >= 0 {
		return gz > 0
	}
	return star > 0
}

// codingWeight is the q parameter among the parameters of one
// Accept-Encoding element (1 when it has none, 0 when it is unreadable).
func codingWeight(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(w >= 0 && w <= 1) {
			return 0
		}
		return w
	}
	return 1
}

// chatWorker serves static/chat/worker.js, the Web Worker that runs the
// WebAssembly client, under the chat page's CSP: a worker loaded from a
// URL is governed by the policy sent with its own script, and without
// 'wasm-unsafe-eval' it could not compile the module.
func (a *app) chatWorker(c *gin.Context) {
	js, err := staticFS.ReadFile("static/chat/worker.js")
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Content-Security-Policy", chatPageCSP)
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "text/javascript; charset=utf-8", js)
}

// chatRoutes mounts the chat page, its worker and client, and the
// directory API.
func (a *app) chatRoutes(u, apiUser gin.IRoutes) {
	u.GET("/chat", a.chatPage)
	u.GET("/chat/worker.js", a.chatWorker)
	u.GET("/chat/client.wasm", a.chatWasm)
	apiUser.GET("/chat/directory", a.chatDirectoryGet)
	apiUser.PUT("/chat/identity", a.chatIdentityPut)
}
