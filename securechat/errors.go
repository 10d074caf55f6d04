package securechat

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them
// (check with errors.Is) and carries context in its message.
var (
	// ErrMalformed reports input that does not parse: a bad key file,
	// envelope, header, bundle or serialized state.
	ErrMalformed = errors.New("securechat: malformed input")
	// ErrQuotaExceeded reports an envelope the relay refuses to store: its
	// sender's stored envelopes, or the relay's, would pass their quota.
	ErrQuotaExceeded = errors.New("securechat: storage quota exceeded")
	// ErrTooLarge reports input over a size limit.
	ErrTooLarge = errors.New("securechat: input too large")
	// ErrBadSignature reports an Ed25519 signature that is missing or does
	// not verify (identity binding, signed prekey, relay challenge).
	ErrBadSignature = errors.New("securechat: bad signature")
	// ErrLowOrderKey reports an X25519 public key of small order (or any key
	// for which X25519 yields the all-zero output).
	ErrLowOrderKey = errors.New("securechat: low-order public key")
	// ErrAuth reports a message that failed authentication: tampered,
	// addressed to someone else, or encrypted under keys we do not hold.
	ErrAuth = errors.New("securechat: message authentication failed")
	// ErrReplay reports a message that was already decrypted once.
	ErrReplay = errors.New("securechat: replayed message")
	// ErrTooManySkipped reports a message number gap larger than MaxSkip.
	ErrTooManySkipped = errors.New("securechat: too many skipped messages")
	// ErrPassphrase reports a wrong passphrase for an encrypted key file.
	ErrPassphrase = errors.New("securechat: wrong passphrase or corrupted key file")
	// ErrPassphraseRequired reports an encrypted key file opened without a
	// passphrase.
	ErrPassphraseRequired = errors.New("securechat: key file is encrypted; passphrase required")
	// ErrUnknownPrekey reports an initial message naming a prekey we do not
	// (or no longer) hold.
	ErrUnknownPrekey = errors.New("securechat: unknown or already used prekey")
	// ErrNoSession reports that no session exists with a peer.
	ErrNoSession = errors.New("securechat: no session with peer")
	// ErrNotFound reports a missing peer, bundle or message.
	ErrNotFound = errors.New("securechat: not found")
	// ErrMailboxFull reports a recipient mailbox at its bound.
	ErrMailboxFull = errors.New("securechat: recipient mailbox full")
	// ErrUnauthorized reports a relay request that failed authentication or
	// is not allowed for the authenticated identity.
	ErrUnauthorized = errors.New("securechat: unauthorized")
	// ErrRateLimited reports a client that sent faster than allowed.
	ErrRateLimited = errors.New("securechat: rate limited")
	// ErrClosed reports use of a closed Client, Relay or Store.
	ErrClosed = errors.New("securechat: closed")
	// ErrInsecureTransport reports a plain ws:// (or http://) relay URL for
	// a host other than loopback, refused unless
	// ClientOptions.AllowInsecureTransport is set.
	ErrInsecureTransport = errors.New("securechat: unencrypted relay connection to a non-loopback host")
	// ErrNotMember reports a group operation by or for a non-member.
	ErrNotMember = errors.New("securechat: not a group member")
)
