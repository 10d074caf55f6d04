//go:build js && wasm

package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"errors"

	"sync"
	"syscall/js"
	"time"

	"github.com/finkit/finkit/examples/internal/chatbench"
	"github.com/finkit/finkit/examples/internal/chatlink"
	"github.com/finkit/finkit/securechat"
)

// historyKeyLabel is signed (Ed25519 signatures are deterministic) and
// hashed to give the key the page encrypts its message history with: only
// the identity's holder can derive it, so a passphrase on the identity
// protects the history too.
const historyKeyLabel = "finkit/dashboard/chat-history-key/v1"

// stateBlock is the PEM type of the sealed client state in a backup file.
const stateBlock = "FINKIT CHAT STATE"

// chat is the module's one client; the page starts it once it holds the
// session's lock.
type chat struct {
	mu     sync.Mutex
	id     *securechat.Identity
	client *securechat.Client
	state  []byte // last sealed state handed to save
}

func main() {
	// securechat checks the browser's WebCrypto at its first X25519 or
	// Ed25519 use; check it now, on a goroutine, so the first session
	// set-up does not wait for it. Then warm up: V8 compiles a WebAssembly
	// function at its first call and optimizes it once it has run a while,
	// so a page's first session setup took 25-80 ms (headless Chromium on
	// a shared machine), the following ones 5-20; three setups and 20
	// messages of throwaway identities (chatbench's; an error only leaves
	// the module colder) run first here. bench waits for them.
	warm := make(chan struct{})
	go func() {
		securechat.CryptoProvider()
		chatbench.Measure(3, 20)
		close(warm)
	}()
	c := &chat{}
	api := map[string]any{
		"generate":     async(func([]js.Value) (any, error) { return c.generate() }),
		"protect":      async(c.protect),
		"isProtected":  js.FuncOf(func(_ js.Value, a []js.Value) any { return len(a) > 0 && securechat.KeyFileEncrypted(bytesOf(a[0])) }),
		"start":        async(c.start),
		"send":         async(c.send),
		"peerOf":       async(peerOf),
		"safetyNumber": async(c.safetyNumber),
		"linkProof":    async(c.linkProof),
		"backup":       async(c.backup),
		"restore":      async(restore),
		"stop":         async(func([]js.Value) (any, error) { return nil, c.stop() }),
		"bench":        async(func(a []js.Value) (any, error) { <-warm; return bench(a) }),
	}
	obj := js.Global().Get("Object").New()
	for k, v := range api {
		obj.Set(k, v)
	}
	js.Global().Set("finkitChat", obj)
	if ready := js.Global().Get("finkitChatReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {} // the callbacks live as long as the page
}

// async wraps fn as a JavaScript function returning a Promise; fn runs on
// its own goroutine, so the caller's event loop goes on at once. A panic
// becomes a rejection. (Not inlined: inlined into main, each of its
// closures was compiled once per method, 40 KB of the module.)
//
//go:noinline
func async(fn func(args []js.Value) (any, error)) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) any {
		args = append([]js.Value(nil), args...)
		executor := js.FuncOf(func(_ js.Value, pr []js.Value) any {
			resolve, reject := pr[0], pr[1]
			go func() {
				defer func() {
					if r := recover(); r != nil {
						reject.Invoke(jsError(errors.New("chat module: " + panicMessage(r))))
					}
				}()
				v, err := fn(args)
				if err != nil {
					reject.Invoke(jsError(err))
					return
				}
				resolve.Invoke(v)
			}()
			return nil
		})
		p := js.Global().Get("Promise").New(executor)
		executor.Release()
		return p
	})
}

// wrap prefixes err's message, as fmt.Errorf("prefix: %w") does
// (fmt is not linked into the module, to keep it small).
func wrap(prefix string, err error) error { return &wrappedError{prefix + ": " + err.Error(), err} }

type wrappedError struct {
	msg string
	err error
}

func (e *wrappedError) Error() string { return e.msg }
func (e *wrappedError) Unwrap() error { return e.err }

// panicMessage describes a recovered panic value (an error or a string;
// anything else only by its kind).
func panicMessage(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	case interface{ String() string }:
		return v.String()
	}
	return "unexpected panic"
}

func jsError(err error) js.Value { return js.Global().Get("Error").New(err.Error()) }

// await waits for a JavaScript Promise from a goroutine.
func await(ctx context.Context, p js.Value) error {
	if p.Type() != js.TypeObject || p.Get("then").Type() != js.TypeFunction {
		return nil
	}
	ch := make(chan error, 1)
	var ok, fail js.Func
	ok = js.FuncOf(func(js.Value, []js.Value) any {
		ch <- nil
		ok.Release()
		fail.Release()
		return nil
	})
	fail = js.FuncOf(func(_ js.Value, a []js.Value) any {
		msg := "rejected"
		if len(a) > 0 && a[0].Truthy() {
			msg = a[0].Call("toString").String()
		}
		ch <- errors.New(msg)
		ok.Release()
		fail.Release()
		return nil
	})
	p.Call("then", ok, fail)
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func bytesOf(v js.Value) []byte {
	if v.Type() == js.TypeString {
		return []byte(v.String())
	}
	if v.Type() != js.TypeObject || v.Get("byteLength").Type() != js.TypeNumber {
		return nil
	}
	if !v.InstanceOf(js.Global().Get("Uint8Array")) {
		v = js.Global().Get("Uint8Array").New(v)
	}
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

func toJS(b []byte) js.Value {
	a := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(a, b)
	return a
}

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

func str(v js.Value) string {
	if v.Type() != js.TypeString {
		return ""
	}
	return v.String()
}

func (c *chat) generate() (any, error) {
	id, err := securechat.GenerateIdentity(nil)
	if err != nil {
		return nil, err
	}
	return map[string]any{"keyFile": toJS(id.MarshalKeyFileUnencrypted()), "id": string(id.ID()),
		"public": base64.StdEncoding.EncodeToString(id.Public().Marshal())}, nil
}

// protect seals a key file with a passphrase (argon2id, the same format
// as `finkit chat keygen`).
func (c *chat) protect(args []js.Value) (any, error) {
	id, err := parseKey(bytesOf(arg(args, 0)), str(arg(args, 1)))
	if err != nil {
		return nil, err
	}
	pass := str(arg(args, 2))
	if pass == "" {
		return toJS(id.MarshalKeyFileUnencrypted()), nil
	}
	out, err := id.MarshalKeyFile([]byte(pass), nil)
	if err != nil {
		return nil, err
	}
	return toJS(out), nil
}

func parseKey(keyFile []byte, pass string) (*securechat.Identity, error) {
	if securechat.KeyFileEncrypted(keyFile) && pass == "" {
		return nil, securechat.ErrPassphraseRequired
	}
	return securechat.ParseKeyFile(keyFile, []byte(pass))
}

// start opens the key file, restores the sealed state and connects.
func (c *chat) start(args []js.Value) (any, error) {
	o := arg(args, 0)
	if o.Type() != js.TypeObject {
		return nil, errors.New("start needs an options object")
	}
	id, err := parseKey(bytesOf(o.Get("keyFile")), str(o.Get("passphrase")))
	if err != nil {
		return nil, err
	}
	var state []byte
	if sealed := bytesOf(o.Get("state")); len(sealed) > 0 {
		if state, err = id.OpenFrom(id.Public(), sealed); err != nil {
			return nil, wrap("saved chat state does not open with this identity", err)
		}
	}
	save, onMessage, onEvent := o.Get("save"), o.Get("onMessage"), o.Get("onEvent")
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		return nil, errors.New("the chat client is already running")
	}
	opts := securechat.ClientOptions{
		URL: str(o.Get("url")), AllowInsecureTransport: o.Get("allowInsecure").Truthy(),
		Identity: id, State: state,
		// The client's warnings (a dropped message, a relay error) go to
		// the page, which shows them.
		Logger: &securechat.EventLogger{Event: func(level, msg, detail string) {
			if onEvent.Type() == js.TypeFunction {
				onEvent.Invoke(map[string]any{"level": level, "msg": msg, "detail": detail})
			}
		}},

		// The page stores each message (its Promise settles once the
		// message is in IndexedDB) before the client saves its state and
		// acknowledges the delivery, so a tab that dies in between gets
		// the message again (see securechat.ClientOptions.Deliver).
		Deliver: func(ctx context.Context, m securechat.Message) error {
			if onMessage.Type() != js.TypeFunction || m.Group != "" {
				return nil
			}
			return await(ctx, onMessage.Invoke(map[string]any{"id": m.ID, "from": string(m.From), "body": string(m.Body), "time": m.Time.UnixMilli()}))
		},

		// Write-ahead: nothing leaves before the page has stored the
		// state that produced it (see securechat.ClientOptions.SaveState).
		SaveState: func(ctx context.Context, st []byte) error {
			sealed, err := id.SealTo(id.Public(), st)
			if err != nil {
				return err
			}
			c.mu.Lock()
			c.state = sealed
			c.mu.Unlock()
			if save.Type() != js.TypeFunction {
				return nil
			}
			return await(ctx, save.Invoke(toJS(sealed)))
		},
	}
	client, err := securechat.NewClient(opts)
	if err != nil {
		return nil, err
	}
	c.id, c.client = id, client
	go func() { // tell the page once the relay has our prekeys
		if client.WaitConnected(context.Background()) == nil && onEvent.Type() == js.TypeFunction {
			onEvent.Invoke(map[string]any{"level": "INFO", "msg": "connected", "detail": ""})
		}
	}()
	hk := sha256.Sum256(id.Sign([]byte(historyKeyLabel)))
	return map[string]any{"id": string(id.ID()), "public": base64.StdEncoding.EncodeToString(id.Public().Marshal()),
		"historyKey": toJS(hk[:])}, nil
}

func (c *chat) running() (*securechat.Client, *securechat.Identity, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil {
		return nil, nil, errors.New("the chat client is not running")
	}
	return c.client, c.id, nil
}

func (c *chat) send(args []js.Value) (any, error) {
	client, _, err := c.running()
	if err != nil {
		return nil, err
	}
	peer, err := securechat.ParsePeerID(str(arg(args, 0)))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return nil, client.Send(ctx, peer, []byte(str(arg(args, 1))))
}

func (c *chat) stop() error {
	c.mu.Lock()
	client := c.client
	c.client, c.id = nil, nil
	c.mu.Unlock()
	if client == nil {
		return nil
	}
	return client.Close()
}

// peerOf parses a published public identity (base64), checking its
// binding signature, and returns its PeerID.
func peerOf(args []js.Value) (any, error) {
	raw, err := base64.StdEncoding.DecodeString(str(arg(args, 0)))
	if err != nil {
		return nil, wrap("public identity", err)
	}
	pub, err := securechat.ParsePublicIdentity(raw)
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": string(pub.ID())}, nil
}

func (c *chat) safetyNumber(args []js.Value) (any, error) {
	_, id, err := c.running()
	if err != nil {
		return nil, err
	}
	peer, err := securechat.ParsePeerID(str(arg(args, 0)))
	if err != nil {
		return nil, err
	}
	return securechat.SafetyNumberOf(id.ID(), peer)
}

func (c *chat) linkProof(args []js.Value) (any, error) {
	_, id, err := c.running()
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString(chatlink.Sign(id, str(arg(args, 0)), str(arg(args, 1)))), nil
}

// backup writes the identity under a passphrase (argon2id key file) and,
// after it, the latest sealed state, as one text file.
func (c *chat) backup(args []js.Value) (any, error) {
	client, id, err := c.running()
	if err != nil {
		return nil, err
	}
	pass := str(arg(args, 0))
	if pass == "" {
		return nil, securechat.ErrPassphraseRequired
	}
	key, err := id.MarshalKeyFile([]byte(pass), nil)
	if err != nil {
		return nil, err
	}
	st, err := client.MarshalState()
	if err != nil {
		return nil, err
	}
	sealed, err := id.SealTo(id.Public(), st)
	if err != nil {
		return nil, err
	}
	return string(key) + string(pem.EncodeToMemory(&pem.Block{Type: stateBlock, Bytes: sealed})), nil
}

// restore opens a backup with its passphrase and returns the key file
// (unencrypted, for the page to protect again) and the sealed state.
func restore(args []js.Value) (any, error) {
	text := []byte(str(arg(args, 0)))
	var keyFile, sealed []byte
	for rest := text; ; {
		b, r := pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == stateBlock {
			sealed = b.Bytes
		} else if keyFile == nil {
			keyFile = pem.EncodeToMemory(b)
		}
		rest = r
	}
	if keyFile == nil {
		return nil, errors.New("this is not a finkit chat backup")
	}
	id, err := parseKey(keyFile, str(arg(args, 1)))
	if err != nil {
		return nil, err
	}
	out := map[string]any{"keyFile": toJS(id.MarshalKeyFileUnencrypted()), "id": string(id.ID()), "state": js.Null()}
	if sealed != nil {
		if _, err := id.OpenFrom(id.Public(), sealed); err != nil {
			return nil, wrap("the backup's state does not open with its key", err)
		}
		out["state"] = toJS(sealed)
	}
	return out, nil
}

func bench(args []js.Value) (any, error) {
	setups, messages := 20, 500
	if v := arg(args, 0); v.Type() == js.TypeNumber {
		setups = v.Int()
	}
	if v := arg(args, 1); v.Type() == js.TypeNumber {
		messages = v.Int()
	}
	res, err := chatbench.Measure(setups, messages)
	if err != nil {
		return nil, err
	}
	ms := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
	return map[string]any{"setupMs": ms(res.Setup), "messageMs": ms(res.Message), "setups": setups, "messages": messages,
		"crypto": securechat.CryptoProvider()}, nil
}
