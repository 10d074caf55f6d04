//go:build !js

package securechat_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/finkit/finkit/securechat"
)

// Two parties set up a session with X3DH from a prekey bundle and exchange
// Double Ratchet messages. In an app the bundle comes from the relay and the
// envelopes travel through it; Client does all of this for you.
func ExampleInitiate() {
	alice, _ := securechat.GenerateIdentity(nil)
	bob, _ := securechat.GenerateIdentity(nil)
	bobPrekeys, _ := securechat.NewPrekeys(bob, 10, nil)

	// Alice fetches Bob's bundle (signed prekey + one one-time prekey).
	upload := bobPrekeys.Upload(bob)
	bundle := upload.BundleFor(&upload.OneTime[0])
	aliceSession, err := securechat.Initiate(alice, bundle, nil)
	if err != nil {
		panic(err)
	}
	env, _ := aliceSession.Encrypt([]byte("hello bob"))

	// Bob receives the initial envelope (as bytes, from the relay).
	received, _ := securechat.ParseEnvelope(env.Marshal())
	bobSession, plaintext, err := securechat.Accept(bob, bobPrekeys, received, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(plaintext))

	reply, _ := bobSession.Encrypt([]byte("hi alice"))
	got, _ := aliceSession.Open(reply.Marshal())
	fmt.Println(string(got))

	// The same envelope a second time is a replay.
	_, err = aliceSession.Open(reply.Marshal())
	fmt.Println(errors.Is(err, securechat.ErrReplay))
	// Output:
	// hello bob
	// hi alice
	// true
}

// Safety numbers are the same on both sides; people compare them out of
// band to rule out a relay that substituted keys.
func ExampleSafetyNumber() {
	seeded := rand.NewChaCha8([32]byte{1})
	alice, _ := securechat.GenerateIdentity(seeded)
	bob, _ := securechat.GenerateIdentity(seeded)
	fmt.Println(securechat.SafetyNumber(alice.Public(), bob.Public()) == securechat.SafetyNumber(bob.Public(), alice.Public()))
	fmt.Println(len(strings.Fields(securechat.SafetyNumber(alice.Public(), bob.Public()))), "groups of 5 digits")
	// Output:
	// true
	// 12 groups of 5 digits
}

// A one-shot anonymous sealed box (libsodium crypto_box_seal format).
func ExampleSealAnonymous() {
	bob, _ := securechat.GenerateIdentity(nil)
	pub := bob.Public().DHKey
	sealed, _ := securechat.SealAnonymous(nil, []byte("tip: rebalance"), &pub, nil)
	msg, _ := bob.OpenAnonymous(sealed)
	fmt.Println(string(msg), len(sealed)-len(msg) == securechat.AnonymousOverhead)
	// Output: tip: rebalance true
}

// A relay (an http.Handler; the dashboard mounts it at /chat/ws) and two
// clients talking through it.
func ExampleClient() {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewUnstartedServer(nil)
	defer srv.Close()
	// Host is the host[:port] clients dial; they sign it into their login.
	relay, err := securechat.NewRelay(securechat.RelayOptions{Host: srv.Listener.Addr().String(), Logger: quiet})
	if err != nil {
		panic(err)
	}
	defer relay.Close()
	srv.Config.Handler = relay
	srv.Start()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	aliceID, _ := securechat.GenerateIdentity(nil)
	bobID, _ := securechat.GenerateIdentity(nil)
	alice, _ := securechat.NewClient(securechat.ClientOptions{URL: url, Identity: aliceID, Logger: quiet})
	defer alice.Close()
	bob, _ := securechat.NewClient(securechat.ClientOptions{URL: url, Identity: bobID, Logger: quiet})
	defer bob.Close()
	if err := bob.WaitConnected(ctx); err != nil {
		panic(err)
	}

	if err := alice.Send(ctx, bob.ID(), []byte("lunch at 12?")); err != nil {
		panic(err)
	}
	m := <-bob.Messages()
	fmt.Println(m.From == alice.ID(), string(m.Body))
	// Output: true lunch at 12?
}

// CryptoProvider says what does the X25519 agreements and Ed25519
// verifications: crypto/ecdh and crypto/ed25519 natively; in a browser
// build, WebCrypto where the browser has both algorithms.
func ExampleCryptoProvider() {
	fmt.Println(securechat.CryptoProvider())
	// Output: go
}
