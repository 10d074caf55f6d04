// Package chatlink is the statement by which a chat identity claims a
// dashboard account. The browser signs it with the identity's Ed25519 key
// when it publishes its public key; the dashboard verifies it before it
// links the key to the account, so nobody can link someone else's key to
// their own account (and so receive, under their name, messages meant for
// the key's owner) or squat a key before its owner publishes it.
package chatlink

import (
	"crypto/ed25519"
	"errors"

	"github.com/finkit/finkit/securechat"
)

// label separates link statements from every other signature made with
// an identity key (relay logins, prekeys, the key binding).
const label = "finkit/dashboard/chat-link/v1\x00"

// ErrBadProof reports a link signature that does not verify.
var ErrBadProof = errors.New("chatlink: the identity did not sign this link")

// Statement is what an identity signs to claim account userID on the
// dashboard at host (the host name the browser sees, as the relay login
// uses): a proof made for one dashboard or one account is refused by
// another.
func Statement(host, userID string, id securechat.PeerID) []byte {
	m := make([]byte, 0, len(label)+len(host)+len(userID)+len(id)+2)
	m = append(m, label...)
	m = append(m, host...)
	m = append(m, 0)
	m = append(m, userID...)
	m = append(m, 0)
	return append(m, id...)
}

// Sign makes the proof that id claims userID at host.
func Sign(id *securechat.Identity, host, userID string) []byte {
	return id.Sign(Statement(host, userID, id.ID()))
}

// Verify checks that pub signed the claim of userID at host; pub itself
// must have been accepted with securechat.ParsePublicIdentity.
func Verify(pub securechat.PublicIdentity, host, userID string, sig []byte) error {
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub.SigningKey, Statement(host, userID, pub.ID()), sig) {
		return ErrBadProof
	}
	return nil
}
