//go:build js && wasm

// Command chatwasm is the dashboard's chat client for the browser:
// securechat.Client compiled to WebAssembly (GOOS=js GOARCH=wasm), so the
// browser encrypts with the same Go code as the library and the dashboard
// relays only ciphertext.
//
// It installs one global object, finkitChat, whose methods return
// Promises: every call that does real work (key generation, argon2id, the
// relay connection, encryption) runs on its own goroutine. Go's js/wasm
// scheduler returns to JavaScript only once every goroutine waits, so the
// module runs in a dedicated Web Worker (static/chat/worker.js, served at
// /chat/worker.js) and the page talks to it by postMessage: the page's
// thread never runs the module's CPU work. The page's JavaScript
// (static/chat/chat.js) keeps what it is handed in IndexedDB, encrypted
// under a non-extractable WebCrypto key, and holds the session's Web Lock;
// this module never stores anything itself. onMessage gets each message
// ({id, from, body, time}) before the client saves its state and
// acknowledges the delivery, and the client waits for the Promise it
// returns (securechat.ClientOptions.Deliver): resolve it once the message
// is stored.
//
//	generate()                          → {keyFile, id, public}
//	protect(keyFile, passphrase)        → keyFile sealed with argon2id
//	isProtected(keyFile)                → bool (synchronous)
//	start({keyFile, passphrase, state, url, allowInsecure,
//	       save, onMessage, onEvent})   → {id, public, historyKey}
//	send(peer, text)                    → resolves once the relay stored it
//	peerOf(public)                      → {id} after checking the key binding
//	safetyNumber(peer)                  → 60 digits with the started identity
//	linkProof(host, userID)             → signature for the dashboard's link API
//	backup(passphrase)                  → encrypted backup text (key + state)
//	restore(text, passphrase)           → {keyFile, state}
//	stop()                              → closes the client
//	bench(setups, messages)             → {setupMs, messageMs, crypto}
//
// bench measures chatbench's session setup and 1 KiB message (mean
// milliseconds) and names the X25519/Ed25519 implementation in use
// (securechat.CryptoProvider: "webcrypto" or "go"). The module warms up
// on a goroutine when it starts (the WebCrypto check, then three session
// setups and 20 messages of throwaway identities, so that V8 has compiled
// and begun to optimize their code before a page's first real one);
// bench waits for that.
//
// keyFile is securechat's key file (PEM); state is the Client's state
// sealed to the identity itself, as finkit chat keeps its state file, so
// neither can be read without the identity's key. The build is checked in
// as ../static/chat/chat.wasm.gz; `make wasm` rebuilds it and the
// dashboard's tests fail when it is stale.
package main
