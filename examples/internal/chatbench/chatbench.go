// Package chatbench is the workload behind the chat performance figures:
// the same code measures an X3DH session setup and a 1 KiB Double Ratchet
// message natively (go test -bench) and in the browser (the dashboard's
// WebAssembly client), so the two numbers compare like with like.
package chatbench

import (
	"crypto/rand"
	"errors"
	"strconv"
	"time"

	"github.com/finkit/finkit/securechat"
)

// MessageSize is the plaintext size of a measured ratchet message.
const MessageSize = 1024

// Responder is a party whose prekeys an initiator can start sessions with.
type Responder struct {
	ID      *securechat.Identity
	Prekeys *securechat.Prekeys
	Bundle  *securechat.Bundle
}

// NewResponder makes an identity with one signed and one one-time prekey,
// and the bundle a relay would hand out for it.
func NewResponder() (*Responder, error) {
	id, err := securechat.GenerateIdentity(nil)
	if err != nil {
		return nil, err
	}
	pk, err := securechat.NewPrekeys(id, 1, nil)
	if err != nil {
		return nil, err
	}
	up := pk.Upload(id)
	return &Responder{ID: id, Prekeys: pk, Bundle: up.BundleFor(&up.OneTime[0])}, nil
}

// Setup is one X3DH session setup as both sides do it: the initiator
// verifies the bundle, agrees on the key (four DHs) and encrypts its first
// message; the responder accepts it and decrypts. It returns both
// sessions.
func Setup(initiator *securechat.Identity, r *Responder) (alice, bob *securechat.Session, err error) {
	alice, err = securechat.Initiate(initiator, r.Bundle, nil)
	if err != nil {
		return nil, nil, err
	}
	env, err := alice.Encrypt([]byte("hello"))
	if err != nil {
		return nil, nil, err
	}
	bob, _, err = securechat.Accept(r.ID, r.Prekeys, env, nil)
	if err != nil {
		return nil, nil, err
	}
	return alice, bob, nil
}

// Exchange encrypts msg on from and decrypts it on to.
func Exchange(from, to *securechat.Session, msg []byte) error {
	env, err := from.Encrypt(msg)
	if err != nil {
		return err
	}
	pt, err := to.Decrypt(env)
	if err != nil {
		return err
	}
	if len(pt) != len(msg) {
		return errors.New("chatbench: decrypted " + strconv.Itoa(len(pt)) + " bytes, sent " + strconv.Itoa(len(msg)))
	}
	return nil
}

// Result is the mean time of each measured operation.
type Result struct {
	Setup    time.Duration // one X3DH session setup (Setup)
	Message  time.Duration // one 1 KiB encrypt + decrypt in steady state
	Setups   int
	Messages int
}

// Measure runs setups session setups and messages steady-state messages
// and returns their mean times; preparing the responders is not timed.
// It is for the browser, where testing.B is not available; natively the
// benchmarks in this package measure the same functions.
func Measure(setups, messages int) (Result, error) {
	res := Result{Setups: setups, Messages: messages}
	initiator, err := securechat.GenerateIdentity(nil)
	if err != nil {
		return res, err
	}
	rs := make([]*Responder, setups)
	for i := range rs {
		if rs[i], err = NewResponder(); err != nil {
			return res, err
		}
	}
	var alice, bob *securechat.Session
	start := time.Now()
	for _, r := range rs {
		if alice, bob, err = Setup(initiator, r); err != nil {
			return res, err
		}
	}
	res.Setup = time.Since(start) / time.Duration(max(setups, 1))
	if alice == nil {
		r, err := NewResponder()
		if err != nil {
			return res, err
		}
		if alice, bob, err = Setup(initiator, r); err != nil {
			return res, err
		}
	}
	msg := make([]byte, MessageSize)
	rand.Read(msg)
	if err := Exchange(bob, alice, msg); err != nil { // the reply ends the initial phase
		return res, err
	}
	start = time.Now()
	for range messages {
		if err := Exchange(alice, bob, msg); err != nil {
			return res, err
		}
	}
	res.Message = time.Since(start) / time.Duration(max(messages, 1))
	return res, nil
}
