// Package securechat is end-to-end encrypted messaging for Go programs,
// built from NaCl primitives in golang.org/x/crypto (X25519, XSalsa20-
// Poly1305 box and secretbox, argon2id) and the standard library (Ed25519,
// HKDF-SHA256, HMAC-SHA256), following Signal's published X3DH and Double
// Ratchet specifications.
//
// Security status, plainly: this is a new implementation of X3DH and the
// Double Ratchet, tested against known-answer vectors and against the
// properties listed under Security, and not externally audited. Read the
// threat model below before relying on it.
//
// It has four layers:
//
//   - Identities and one-shot sealing: Identity, PublicIdentity, key files,
//     SafetyNumber, BoxSeal/BoxOpen, SealAnonymous/OpenAnonymous.
//   - Sessions: Prekeys and Bundle (X3DH), Initiate/Accept, Session (Double
//     Ratchet) with MarshalBinary/UnmarshalSession.
//   - The wire format: Envelope, ParseEnvelope.
//   - Transport: Relay (an http.Handler speaking WebSocket, with a Store;
//     securechat/sqlstore persists it) and Client (identity + sessions +
//     relay connection with reconnect), including small groups.
//
// # Identities
//
// An identity is an Ed25519 signing key plus an independent X25519
// key-agreement key. The X25519 key is not converted from the Ed25519 key;
// instead the Ed25519 key signs it (the "identity binding"), and a
// PublicIdentity is only accepted when that signature verifies. The Ed25519
// public key alone names a party: its PeerID is the key in unpadded
// base64url. Relay logins, signed prekeys and the binding are Ed25519
// signatures; key agreement (box, X3DH, the ratchet) uses X25519 through
// curve25519.X25519, which rejects low-order points (ErrLowOrderKey) —
// unlike box.Precompute, which would silently use an all-zero secret.
//
// Key files (MarshalKeyFile, ParseKeyFile) are a versioned PEM block,
// sealed with secretbox under an argon2id key derived from a passphrase
// (MarshalKeyFileUnencrypted writes the keys in the clear, only when asked
// to); the parser is strict and bounds the argon2 cost a hostile file can
// demand.
//
// A safety number (SafetyNumber, SafetyNumberOf) is 60 digits derived from
// both parties' Ed25519 keys with iterated SHA-512, the same on both sides.
// Because the X25519 key must carry the Ed25519 key's signature, comparing
// safety numbers covers both keys: a relay that substitutes a bundle is
// caught either by the signature check (ErrBadSignature) or by a different
// number.
//
// # Box layer
//
// BoxSeal and BoxOpen are NaCl crypto_box (HSalsa20 over the X25519 output,
// then XSalsa20-Poly1305); they reproduce the NaCl, libsodium, x/crypto and
// tweetnacl-js known-answer vectors byte for byte (see testdata/). The
// anonymous sealed box is libsodium's crypto_box_seal format, via
// x/crypto's box.SealAnonymous.
//
// # X3DH and the Double Ratchet
//
// A Bundle has the responder's identity, a signed prekey and at most one
// one-time prekey (the relay hands each out once). Initiate verifies the
// signatures, computes DH(IKa, SPKb), DH(EKa, IKb), DH(EKa, SPKb) and, with
// a one-time prekey, DH(EKa, OPKb), and derives the shared secret with
// HKDF-SHA256 (32 bytes of 0xFF prefixed, zero salt). The initiator's
// messages are TypeInitial, carrying its identity, ephemeral key and the
// prekey ids, until the responder replies. Accept consumes the one-time
// prekey only after the first message authenticates.
//
// The Double Ratchet follows the specification: an X25519 DH ratchet, a
// root chain with HKDF-SHA256 (salt = root key), symmetric chains with
// HMAC-SHA256 (message key = HMAC(ck, 1), next chain key = HMAC(ck, 2)),
// skipped message keys for out-of-order delivery within MaxSkip (default
// 1000), capped (MaxSkippedKeys, oldest dropped) and expiring
// (SkippedKeyTTL, checked again when a key is used). Decrypt first bounds
// the work a header asks for (the keys to derive for the rest of the old
// chain and the new one must fit in MaxSkip), then works on a copy of the
// state and commits only after the ciphertext authenticates, so a failed
// decryption leaves the session exactly as it was; the new sending key pair
// of a DH ratchet step is generated only after authentication, so a forged
// header costs one X25519 and no randomness. Recently decrypted messages are remembered by
// digest (ReplayWindow) so a replay reports ErrReplay; older replays fail
// with ErrAuth because their keys no longer exist (forward secrecy).
//
// # How the header is authenticated
//
// secretbox has no associated data, so the ratchet header (and the rest of
// the envelope) is bound into the key instead. Each message is encrypted
// with
//
//	k = HKDF-Expand(PRK = message key, info = label || AD || header bytes, 32)
//
// where AD is SHA-256 over both identities (initiator first) and "header
// bytes" is the whole encoded envelope except the ciphertext: version, type,
// sender, recipient, the X3DH prekey header if any, the ratchet key, PN, N,
// the nonce and the ciphertext length. k is then used for one secretbox
// under that nonce: 24 bytes drawn fresh from the session's randomness for
// every message and carried in the envelope. HKDF-Expand with a uniformly
// random PRK is a PRF, so a header that differs in any bit yields an
// unrelated key, and the Poly1305 tag, which an attacker cannot forge
// without k, fails: changing the header is as hard as forging the MAC. We
// chose this over chacha20poly1305.NewX (which has native associated data)
// to keep the whole construction on NaCl primitives, and because it also
// commits the ciphertext to the session's identities. It costs one extra
// HMAC per message. Every single-bit change of an envelope is therefore an
// ErrAuth failure (a test flips every bit).
//
// # Why a random nonce
//
// In a correct run every message key is used once, and envelope version 1
// relied on that with a fixed zero nonce. But a session restored from an
// older snapshot (a crash between encrypting and saving, or two processes
// sharing one state) re-derives the same message key and header; with a
// fixed nonce two different plaintexts were then encrypted under the same
// key and nonce (c1 ⊕ c2 = p1 ⊕ p2, and the one-time Poly1305 key repeats,
// so that slot can be forged too). The Double Ratchet specification (§5.2)
// recommends a misuse-resistant construction for this case. Since version
// 2 the nonce is random and is part of the header bytes, so a repeated
// message key still gives a different encryption key k and a different
// nonce: the worst a rollback can do is make the receiver refuse the second
// message for that slot (its key is used), never reveal anything. A
// 192-bit random nonce makes a collision negligible even across rollbacks.
// An SIV-style construction would also have been safe, but it needs two
// passes and a second primitive; the random nonce keeps secretbox, costs 24
// bytes per envelope and is what NaCl's own API expects. Version 1
// envelopes are refused.
//
// A random nonce makes reuse harmless; Client also makes it rare: with
// ClientOptions.SaveState set, the advanced state is handed to the app's
// storage before the ciphertext leaves the process (write-ahead), and
// before a delivery is acknowledged. finkit chat saves its state file this
// way.
//
// # Wire envelope
//
// Envelope is versioned and binary (layout on the type). ParseEnvelope is
// strict: known version and type, well-formed PeerIDs, exact lengths, no
// trailing bytes, MaxEnvelopeSize and MaxCiphertextSize checked before any
// allocation. It is fuzzed.
//
// # Relay
//
// Relay is an http.Handler (the dashboard mounts it at /chat/ws) speaking a
// small JSON protocol over WebSocket (github.com/coder/websocket; see
// protocol.go). A client proves its identity by signing a fresh server
// challenge together with the relay's host name with its Ed25519 key. The
// host is RelayOptions.Host, which NewRelay requires: the relay never
// trusts the request's Host header. So there are no passwords and nobody
// can read another identity's mailbox or send as someone else (the relay
// checks every envelope's sender). It keeps published prekeys and hands
// out each one-time prekey at most once, stores envelopes per recipient in
// a Store (bounded by MailboxLimit, expiring after MessageTTL; only for a
// recipient that has published prekeys, and within a per-sender and a
// total storage quota, SenderQuota and StorageQuota), delivers
// them in order when the recipient is online and deletes each on
// acknowledgement. Deliveries are read from the store, so an offline or
// slow recipient costs store space, not relay memory; a client whose
// socket does not drain within WriteTimeout, or whose reply queue fills, is
// disconnected. Each connection is rate limited (acks beyond the
// connection's deliveries count too), frames are size limited, and one
// identity holds at most MaxConnectionsPerPeer connections. Prekey fetches
// are limited per requesting identity (FetchRate, FetchBurst) and one-time
// prekeys per target (TargetRate, TargetBurst; past it a bundle comes
// without one), and after each fetch the target is told how many one-time
// prekeys are left. The fetch limit per requester is kept in the relay's
// memory, per instance; the per-target budget is a token bucket in the
// Store (Store.TakeToken), and the Store checks the quotas as it appends
// (Store.Enqueue with EnqueueLimits), so both hold for all relays sharing
// the store together. Relays of several instances share one Store and a Notifier
// (RelayOptions.Notifier; securechat/sqlstore/pgnotify over PostgreSQL's
// LISTEN/NOTIFY): the relay that stores an envelope notifies, the one
// holding the recipient's connection delivers from the store, and each
// connection also re-reads its mailbox every PollInterval in case a
// wake-up was lost. Every connection authenticated as one identity receives that
// identity's mailbox stream (fan-out), and the first ack removes an entry;
// since sessions live in the client, this suits clients that share state
// (or a read-only monitor), not independent devices with their own
// sessions.
//
// # Client and groups
//
// Client connects in the background with exponential back-off and jitter,
// publishes its prekeys, refills one-time prekeys when the relay reports
// that fewer than half are left, rotates the signed prekey on a schedule
// (SignedPrekeyRotation, default weekly), creates sessions on first Send,
// retries sends across reconnects (a duplicate is recognised as a replay
// and dropped), acknowledges deliveries after handing them to Messages
// (or, with ClientOptions.Deliver, after the app's own hook stored them
// and the state was saved, so no crash loses a message), and can save and
// restore its state (MarshalState, and the write-ahead SaveState hook). If both sides start a session at once, both sessions
// are kept and either decrypts. Groups are pairwise fan-out: SetGroup (by
// the owner) distributes the member list, SendGroup encrypts to each
// member over its own session, messages from non-members are dropped, and
// a removed member stops receiving because nothing is encrypted to it any
// more.
//
// # In the browser
//
// Under GOOS=js GOARCH=wasm the Client speaks to the relay through the
// browser's own WebSocket (syscall/js; its callbacks only queue frames,
// bounded, and never block the event loop), and the Relay is not built,
// so a WebAssembly build links neither net/http nor crypto/tls. The
// dashboard's chat page runs such a build (examples/dashboard/chatwasm).
//
// There the X25519 agreements and Ed25519 verifications go to the
// browser's WebCrypto (crypto.subtle), native code three to five times as
// fast as crypto/ecdh and crypto/ed25519 compiled to WebAssembly (a
// session setup in half the time), when it does both
// algorithms and gives the known answers (checked once, at the first
// use); otherwise the Go code does them, as natively, and so it does any
// call WebCrypto fails later. [CryptoProvider]
// says which. The protocol is the same Go code either way, and so are the
// results, except that WebCrypto may refuse Ed25519 signatures of
// small-order keys crypto/ed25519 accepts (never the reverse; see
// x25519_js.go). WebCrypto answers with Promises, so in this build every
// function that agrees or verifies (identity and session set-up,
// decryption of a message that turns the ratchet, [Client] itself) must
// be called on a goroutine, never synchronously inside a js.FuncOf
// callback, where waiting for the event loop would deadlock.
//
// # Security
//
// This is a new implementation of X3DH and the Double Ratchet, written for
// finkit. It is tested against known-answer vectors (NaCl, libsodium,
// x/crypto and tweetnacl-js for the box layer, the Argon2id reference
// vectors, and our own frozen ratchet vectors, which only pin our format)
// and against the properties listed below, each with a test that attacks
// it. It has not been audited by anyone outside the project.
//
// Threat model. The relay, whoever runs or holds its store, and anyone on
// the network path are untrusted for confidentiality and authenticity.
// They can: see who talks to whom, when, how often and how much (sender,
// recipient, sizes and the ratchet header are in the clear); delay, drop,
// reorder, replay or duplicate envelopes; refuse service; hand out a
// bundle without a one-time prekey (a session then rests on three DHs);
// substitute a whole bundle of a key they control, which the safety
// number exposes (compare it out of band); and inject envelopes of their
// own. They cannot: read a message; make a client accept a message that
// its peer did not encrypt, including on a session that has not received
// its first reply (see below); change any header field without the
// message failing authentication; make a client re-accept a replayed
// message or initial message; log in as a client (the login signs the
// relay's configured host and a fresh challenge); or learn a key that
// decrypts an envelope, because none ever leaves the clients (the
// end-to-end test scans the relay's SQLite file and a tap of its TCP
// traffic for every plaintext). A client's own device is trusted; whoever reads
// its state file (or the key file without the passphrase) holds its keys,
// and the ratchet then limits the damage: earlier messages stay secret
// (forward secrecy) and later ones become secret again after one DH round
// trip (post-compromise security), both tested.
//
// Decisions, each with a test that fails on the code before it:
//
//   - No message decrypts on a chain that does not exist. Until the
//     responder's first reply the initiator has no receiving chain; the
//     specification's "None" is an optional chain type (internal/chain)
//     whose key is reachable only through methods that report its
//     absence, so an envelope whose header names the responder's public
//     signed prekey (which anyone can build from public data) fails with
//     ErrAuth, changes nothing and leaves the session pending. Tested at
//     the session level and through Client with a relay store that injects
//     its own envelopes (direct, group and group-update messages).
//   - A random 24-byte nonce per envelope, bound into the encryption key
//     (see "Why a random nonce"), and a write-ahead SaveState hook: a
//     restored old snapshot cannot turn into a two-time pad.
//   - The relay requires its host to be configured (no Host-header trust),
//     and Client refuses ws:// to anything but loopback unless
//     AllowInsecureTransport is set.
//   - One-time prekeys cannot be drained for good: fetches are rate
//     limited per requester and per target, and clients refill on the
//     relay's report. The signed prekey rotates weekly by default.
//   - An initial message without a one-time prekey is accepted once: its
//     base key is recorded per signed prekey (MaxBaseKeysPerSignedPrekey,
//     persisted with the prekeys), so a replay is refused after the
//     session was evicted or the client restarted. The record is dropped
//     with its signed prekey, which is rotated before the record fills.
//   - Forward secrecy is tested on the whole serialized state: after a DH
//     ratchet step, no 32-byte window of either side's state, taken as a
//     message key or as a chain key, decrypts an earlier message.
//   - Key files are encrypted unless MarshalKeyFileUnencrypted is called;
//     MarshalKeyFile refuses an argon2id cost below MinKDFMemoryKiB and
//     MinKDFCost, and ParseKeyFile refuses costs above what a writer may
//     use (MaxKDFMemoryKiB, MaxKDFCost), before deriving anything.
//   - SealTo and OpenFrom verify the peer identity's binding first.
//
// Not covered: independent devices per identity (Signal's per-device
// sessions), sealed sender (the relay sees senders), header encryption,
// and a shared per-requester fetch limit and per-connection rate limit
// (each relay instance keeps its own). Group ids are not namespaced by owner: the first member list
// received for an unknown id fixes its owner, so someone who knows a group
// id before its owner's first update reaches a member can squat it for
// that member. Restoring a stale session snapshot and sending again reuses
// a message key, which the random nonce makes harmless for
// confidentiality, but the receiver drops the second message for that
// slot: persist the state before sending (ClientOptions.SaveState).
package securechat
