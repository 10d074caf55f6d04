package securechat

import (
	"strings"
)

// Relay protocol: one JSON object per WebSocket text message. Binary fields
// are base64 (encoding/json's []byte encoding).
//
//	relay  -> client  {"type":"challenge","data":NONCE}
//	client -> relay   {"type":"auth","data":PUBLIC_IDENTITY,"sig":SIG}
//	relay  -> client  {"type":"welcome","peer":ID}
//	client -> relay   {"type":"publish","id":N,"data":PREKEY_UPLOAD} -> {"type":"ok","id":N,"count":LEFT}
//	client -> relay   {"type":"fetch","id":N,"peer":ID}   -> {"type":"bundle","id":N,"data":BUNDLE}
//	client -> relay   {"type":"send","id":N,"data":ENVELOPE} -> {"type":"ok","id":N}
//	relay  -> client  {"type":"deliver","id":SEQ,"data":ENVELOPE,"time":UNIX_MS}
//	relay  -> client  {"type":"prekeys","count":LEFT}  (after a fetch took one of its one-time prekeys)
//	client -> relay   {"type":"ack","id":SEQ}
//	relay  -> client  {"type":"error","id":N,"code":CODE,"error":TEXT}
//
// SIG is the Ed25519 signature of authLabel || host || NONCE, where host is
// the relay's host as the client dialed it, so a challenge relayed from
// another server does not verify. The relay checks it against its
// configured RelayOptions.Host, never against the request's Host header.
// LEFT is how many of the client's one-time prekeys the relay still holds.
const authLabel = "finkit/securechat/v1/relay-auth\x00"

const (
	frameChallenge = "challenge"
	frameAuth      = "auth"
	frameWelcome   = "welcome"
	framePublish   = "publish"
	frameFetch     = "fetch"
	frameBundle    = "bundle"
	frameSend      = "send"
	frameOK        = "ok"
	frameDeliver   = "deliver"
	framePrekeys   = "prekeys"
	frameAck       = "ack"
	frameError     = "error"
)

// Error codes in error frames.
const (
	codeMalformed    = "malformed"
	codeUnauthorized = "unauthorized"
	codeRateLimited  = "rate_limited"
	codeMailboxFull  = "mailbox_full"
	codeNotFound     = "not_found"
	codeTooLarge     = "too_large"
	codeQuota        = "quota_exceeded"
	codeInternal     = "internal"
)

// maxFrameSize is the WebSocket read limit of relay and client: a maximal
// envelope, base64 encoded, plus JSON framing.
const maxFrameSize = MaxEnvelopeSize*4/3 + 1024

type frame struct {
	Type  string `json:"type"`
	ID    uint64 `json:"id,omitempty"`
	Peer  PeerID `json:"peer,omitempty"`
	Data  []byte `json:"data,omitempty"`
	Sig   []byte `json:"sig,omitempty"`
	Time  int64  `json:"time,omitempty"`
	Count int    `json:"count,omitempty"`
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

func authMessage(host string, nonce []byte) []byte {
	host = canonicalHost(host)
	m := make([]byte, 0, len(authLabel)+len(host)+1+len(nonce))
	m = append(m, authLabel...)
	m = append(m, host...)
	m = append(m, 0)
	return append(m, nonce...)
}

// canonicalHost is the form of a host[:port] that logins are signed for:
// host names are case-insensitive and a trailing dot names the same host,
// so "Relay.Example." and "relay.example" sign the same message (a
// mismatch in spelling alone would refuse every login). Ports are kept as
// written.
func canonicalHost(h string) string {
	name, port := h, ""
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		name, port = h[:i], h[i:]
	}
	return strings.ToLower(strings.TrimSuffix(name, ".")) + port
}

func decodeFrame(b []byte) (frame, error) {
	f, err := unmarshalFrame(b)
	if err != nil {
		return frame{}, errorf("%w: frame: %v", ErrMalformed, err)
	}
	if f.Type == "" {
		return f, errorf("%w: frame without type", ErrMalformed)
	}
	return f, nil
}

// errorFor maps an error frame back to a sentinel.
func errorFor(f frame) error {
	base := ErrMalformed
	switch f.Code {
	case codeUnauthorized:
		base = ErrUnauthorized
	case codeRateLimited:
		base = ErrRateLimited
	case codeMailboxFull:
		base = ErrMailboxFull
	case codeNotFound:
		base = ErrNotFound
	case codeTooLarge:
		base = ErrTooLarge
	case codeQuota:
		base = ErrQuotaExceeded
	case codeInternal:
		return errorf("securechat: relay internal error: %s", f.Error)
	}
	return errorf("%w (relay: %s)", base, f.Error)
}
