//go:build !js

package securechat

import (
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/nacl/secretbox"
)

// SealTo and OpenFrom refuse a peer identity whose X25519 key is not vouched
// for by its Ed25519 key: a substituted DH key must not be used silently.
func TestSealToOpenFromVerifyPeer(t *testing.T) {
	a, b, eve := newID(t), newID(t), newID(t)
	forgedB := b.Public()
	forgedB.DHKey = eve.Public().DHKey // b's name, eve's key, b's (now wrong) binding
	_, err := a.SealTo(forgedB, []byte("for b"))
	require.ErrorIs(t, err, ErrBadSignature)

	sealed, err := eve.SealTo(a.Public(), []byte("from b, honest"))
	require.NoError(t, err)
	forgedSender := b.Public()
	forgedSender.DHKey = eve.Public().DHKey
	_, err = a.OpenFrom(forgedSender, sealed)
	require.ErrorIs(t, err, ErrBadSignature)
}

// Key files: no silent plaintext, no weak KDF on write, and the parser's
// memory bound is what a writer can produce.
func TestKeyFilePolicy(t *testing.T) {
	id := newID(t)
	_, err := id.MarshalKeyFile(nil, nil)
	require.ErrorIs(t, err, ErrPassphraseRequired, "an empty passphrase must not write a plaintext file")
	_, err = id.MarshalKeyFile([]byte{}, nil)
	require.ErrorIs(t, err, ErrPassphraseRequired)

	for _, p := range []KDFParams{{1, 64, 1}, {1, 19 * 1024, 1}, {2, 8 * 1024, 1}} {
		_, err := id.MarshalKeyFile([]byte("pw"), &p)
		require.ErrorIs(t, err, ErrMalformed, "cost %+v is below the minimum", p)
	}
	// Parsing refuses the costs no writer may use (1 GiB of memory).
	for _, p := range []KDFParams{{1, 1 << 20, 1}, {1, 512 * 1024, 4}} {
		require.ErrorIs(t, p.validate(), ErrMalformed, "%+v", p)
	}
	require.NoError(t, DefaultKDFParams().validate())
	require.NoError(t, DefaultKDFParams().validateWrite())
}

// An initial message without a one-time prekey is accepted once per signed
// prekey, also after the Prekeys were serialized and restored (a restart),
// so a replay cannot create a second session or deliver its plaintext again.
func TestAcceptRefusesReplayedBaseKey(t *testing.T) {
	a, b := newParty(t, 1), newParty(t, 0)
	s, err := Initiate(a.id, bundleOf(t, b, false), nil)
	require.NoError(t, err)
	e, err := s.Encrypt([]byte("once"))
	require.NoError(t, err)
	require.False(t, e.Prekey.HasOneTime)
	_, pt, err := Accept(b.id, b.prekeys, e, nil)
	require.NoError(t, err)
	require.Equal(t, "once", string(pt))

	_, _, err = Accept(b.id, b.prekeys, e, nil)
	require.ErrorIs(t, err, ErrReplay, "replay in the same process")

	raw, err := b.prekeys.MarshalBinary()
	require.NoError(t, err)
	restored, err := UnmarshalPrekeys(raw, nil)
	require.NoError(t, err)
	_, _, err = Accept(b.id, restored, e, nil)
	require.ErrorIs(t, err, ErrReplay, "replay after a restart")

	// A different session under the same signed prekey is still welcome.
	s2, err := Initiate(a.id, bundleOf(t, b, false), nil)
	require.NoError(t, err)
	e2, err := s2.Encrypt([]byte("new session"))
	require.NoError(t, err)
	_, pt, err = Accept(b.id, restored, e2, nil)
	require.NoError(t, err)
	require.Equal(t, "new session", string(pt))
}

// tryDecryptWithAnyWindow reports whether any 32-byte window of state,
// used as a message key or as a chain key (up to depth steps ahead),
// opens env.
func tryDecryptWithAnyWindow(state []byte, ad *[KeySize]byte, env *Envelope, depth int) bool {
	var buf [512]byte
	authData := env.appendAuthData(buf[:0])
	opens := func(mk *[KeySize]byte) bool {
		k := encryptionKey(mk, ad, authData)
		_, ok := secretbox.Open(nil, env.Ciphertext, &env.Nonce, &k)
		return ok
	}
	for i := 0; i+KeySize <= len(state); i++ {
		var w [KeySize]byte
		copy(w[:], state[i:i+KeySize])
		if opens(&w) {
			return true
		}
		ck := w
		for range depth {
			mk, next := specChainStep(ck)
			if opens(&mk) {
				return true
			}
			ck = next
		}
	}
	return false
}

// Forward secrecy across a DH ratchet step: once both sides have stepped,
// nothing in either side's serialized state (no window of its bytes, taken
// as a message key or as a chain key) decrypts the earlier messages. An
// implementation that kept previous chain or message keys would fail.
func TestForwardSecrecyAfterDHStep(t *testing.T) {
	alice, bob := pairSessions(t, nil)
	var old []*Envelope
	for _, m := range []string{"a1", "a2", "a3"} {
		e, err := alice.Encrypt([]byte(m))
		require.NoError(t, err)
		_, err = bob.Decrypt(e)
		require.NoError(t, err)
		old = append(old, e)
	}
	e, err := bob.Encrypt([]byte("b1"))
	require.NoError(t, err)
	_, err = alice.Decrypt(e)
	require.NoError(t, err)
	old = append(old, e)
	send(t, alice, bob, "a4 on a new chain") // bob steps
	send(t, bob, alice, "b2 on a new chain") // alice steps
	require.Zero(t, bob.SkippedKeys())
	for name, s := range map[string]*Session{"alice": alice, "bob": bob} {
		st := stateOf(t, s)
		for i, e := range old {
			assert.False(t, tryDecryptWithAnyWindow(st, &s.ad, e, 8), "%s's state decrypts earlier message %d", name, i)
		}
	}
	// The scan does find a key that is there: a state taken just before
	// an encryption holds the chain key of that message.
	a2, b2 := pairSessions(t, nil)
	before := stateOf(t, a2)
	e2, err := a2.Encrypt([]byte("y"))
	require.NoError(t, err)
	assert.True(t, tryDecryptWithAnyWindow(before, &b2.ad, e2, 1), "the scan finds a chain key that is present")
}

// specChainStep is the Double Ratchet chain step written out from the
// specification: mk = HMAC-SHA256(ck, 0x01), ck' = HMAC-SHA256(ck, 0x02).
func specChainStep(ck [KeySize]byte) (mk, next [KeySize]byte) {
	h := hmac.New(sha256.New, ck[:])
	h.Write([]byte{1})
	h.Sum(mk[:0])
	h = hmac.New(sha256.New, ck[:])
	h.Write([]byte{2})
	h.Sum(next[:0])
	return mk, next
}
