//go:build !js

package securechat

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"
)

// RelayOptions configures a Relay. Zero fields take the defaults.
type RelayOptions struct {
	// Store persists mailboxes and prekeys (a new MemoryStore when nil).
	Store Store
	// MailboxLimit bounds each recipient's mailbox (default 10,000).
	MailboxLimit int
	// MessageTTL is how long an undelivered envelope is kept (default 30 days).
	MessageTTL time.Duration
	// SenderQuota bounds the bytes of undelivered envelopes one sender may
	// have stored (default 16 MiB), and StorageQuota those of all senders
	// together (default 512 MiB): identities cost nothing to make, so the
	// second bounds what anonymous senders can make the relay keep. A send
	// beyond either gets a quota_exceeded error (ErrQuotaExceeded). The
	// Store checks both as it appends (Store.Enqueue), so they hold for
	// all relays sharing the store together.
	SenderQuota  int64
	StorageQuota int64
	// RateLimit and RateBurst bound the frames per second one connection may
	// send (default 100/s, burst 200). Excess requests get a rate_limited error.
	RateLimit float64
	RateBurst int
	// WriteTimeout is how long a write to a client may block before the
	// client is treated as a slow consumer and disconnected (default 10 s).
	WriteTimeout time.Duration
	// AuthTimeout bounds the challenge-response handshake (default 10 s).
	AuthTimeout time.Duration
	// MaxConnectionsPerPeer bounds the simultaneous connections (devices)
	// of one identity, so one key cannot pin unbounded relay memory and
	// goroutines (default 16). A connection over the limit is closed with a
	// policy-violation status right after authentication.
	MaxConnectionsPerPeer int
	// OutboundQueue is the number of replies queued per connection before
	// the connection is dropped as a slow consumer (default 256).
	OutboundQueue int
	// PurgeInterval is how often expired envelopes are deleted (default 1 min).
	PurgeInterval time.Duration
	// Host is required: the host[:port] clients dial (as in their relay
	// URL), which they sign into their login together with the relay's
	// challenge. The relay never falls back to the request's Host header:
	// otherwise a server a client was tricked into dialling could pass this
	// relay's challenge to the client, forward the signature (made for the
	// malicious host) here with that Host header, and be logged in as the
	// client: it could read and delete the client's mailbox, send as it and
	// publish fake one-time prekeys for it.
	Host string
	// FetchRate and FetchBurst bound the prekey bundles one identity may
	// fetch per second, over all its connections (default 1/s, burst 64,
	// enough to start a session with every member of a maximal group at
	// once). Excess fetches get a rate_limited error.
	FetchRate  float64
	FetchBurst int
	// TargetRate and TargetBurst bound the one-time prekeys handed out per
	// target identity (default one a minute, burst 20). A fetch beyond the
	// target's budget still gets the bundle, without a one-time prekey
	// (X3DH with three DHs), so nobody can drain a target's one-time
	// prekeys in a burst, by one identity or many, and sessions can always
	// start. The budget is a token bucket in the Store (Store.TakeToken),
	// so relays sharing the store hand out one burst in total, not one
	// each (it refills by each relay's clock, Now: keep their clocks
	// synchronised). A NaN or non-positive rate is the default; a budget
	// whose burst takes more than a year to refill refills in a year.
	TargetRate  float64
	TargetBurst int
	// Notifier carries mailbox wake-ups between relays that share one
	// Store (several instances of an application behind one address): a
	// relay that stores an envelope notifies, and the relay holding the
	// recipient's connection delivers it from the store. Without it a
	// relay wakes only its own connections.
	Notifier Notifier
	// PollInterval, with a Notifier, is how often each connection also
	// re-reads its mailbox (default 30 s), so that a wake-up lost with a
	// failed notification delays a delivery by at most this long.
	PollInterval time.Duration
	// OriginPatterns are passed to websocket.Accept for browser clients.
	OriginPatterns []string
	// Logger receives connection events (slog.Default when nil).
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (o RelayOptions) withDefaults() RelayOptions {
	if o.Store == nil {
		o.Store = NewMemoryStore()
	}
	if o.MailboxLimit <= 0 {
		o.MailboxLimit = 10000
	}
	if o.MessageTTL <= 0 {
		o.MessageTTL = 30 * 24 * time.Hour
	}
	if o.SenderQuota <= 0 {
		o.SenderQuota = 16 << 20
	}
	if o.StorageQuota <= 0 {
		o.StorageQuota = 512 << 20
	}
	if o.RateLimit <= 0 {
		o.RateLimit = 100
	}
	if o.RateBurst <= 0 {
		o.RateBurst = 200
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.AuthTimeout <= 0 {
		o.AuthTimeout = 10 * time.Second
	}
	if o.MaxConnectionsPerPeer <= 0 {
		o.MaxConnectionsPerPeer = 16
	}
	if o.OutboundQueue <= 0 {
		o.OutboundQueue = 256
	}
	if o.PurgeInterval <= 0 {
		o.PurgeInterval = time.Minute
	}
	if !(o.FetchRate > 0) { // NaN too
		o.FetchRate = 1
	}
	if o.FetchBurst <= 0 {
		o.FetchBurst = MaxGroupMembers
	}
	if !(o.TargetRate > 0) { // NaN too
		o.TargetRate = 1.0 / 60
	}
	if o.TargetBurst <= 0 {
		o.TargetBurst = 20
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// validRelayHost accepts a bare host or host:port, as it appears in a URL.
func validRelayHost(h string) error {
	if h == "" {
		return fmt.Errorf("%w: RelayOptions.Host is required (the host[:port] clients dial)", ErrMalformed)
	}
	u, err := url.Parse("wss://" + h)
	if err != nil || u.Host != h || u.Hostname() == "" || strings.ContainsAny(h, " /?#@") {
		return fmt.Errorf("%w: RelayOptions.Host %q is not a host[:port]", ErrMalformed, h)
	}
	return nil
}

// deliverBatch is how many mailbox entries are read from the store at once.
const deliverBatch = 64

// Relay is the store-and-forward server. It authenticates identities by a
// signed challenge, keeps prekey bundles, and moves opaque envelopes between
// mailboxes; it never holds a key that could decrypt them. Serve it with
// ServeHTTP (it is an http.Handler speaking WebSocket) and stop it with
// Close.
type Relay struct {
	opts   RelayOptions
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	fetchLim *peerLimiter // per requester

	mu     sync.Mutex
	conns  map[PeerID]map[*relayConn]struct{}
	closed bool
}

// NewRelay returns a relay with its background purge loop running. It
// fails with ErrMalformed when RelayOptions.Host is missing or not a
// host[:port].
func NewRelay(opts RelayOptions) (*Relay, error) {
	if err := validRelayHost(opts.Host); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Relay{opts: o, ctx: ctx, cancel: cancel, conns: make(map[PeerID]map[*relayConn]struct{}),
		fetchLim: newPeerLimiter(o.FetchRate, o.FetchBurst)}
	r.wg.Add(1)
	go r.purgeLoop()
	if o.Notifier != nil {
		r.wg.Add(1)
		go r.listenLoop()
	}
	return r, nil
}

func (r *Relay) purgeLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.opts.PurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
			now := r.opts.Now()
			r.fetchLim.prune(now)
			if n, err := r.opts.Store.PurgeExpired(r.ctx, now); err != nil {
				r.opts.Logger.Warn("securechat relay: purge", "err", err)
			} else if n > 0 {
				r.opts.Logger.Info("securechat relay: purged expired envelopes", "count", n)
			}
		}
	}
}

// Close disconnects every client, stops the background loop and waits for
// all connection goroutines to finish. The Store is not closed.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	return nil
}

// Online returns how many connections are authenticated as peer.
func (r *Relay) Online(peer PeerID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns[peer])
}

type relayConn struct {
	r      *Relay
	ws     *websocket.Conn
	peer   PeerID
	cancel context.CancelFunc
	out    chan frame
	wake   chan struct{}
	log    *slog.Logger
	// delivered counts deliver frames written (by writeLoop); readLoop lets
	// that many acks through without charging the rate limiter. Acks
	// beyond it (junk, repeats) are ordinary rate-limited frames, so they
	// cannot turn into an unbounded stream of store writes.
	delivered atomic.Int64
}

// ServeHTTP upgrades the request to a WebSocket and serves one client until
// it disconnects or the relay closes.
func (r *Relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		http.Error(w, "relay closed", http.StatusServiceUnavailable)
		return
	}
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()

	ws, err := websocket.Accept(w, req, &websocket.AcceptOptions{
		OriginPatterns:  r.opts.OriginPatterns,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		r.opts.Logger.Debug("securechat relay: accept", "err", err)
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(maxFrameSize)

	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	stop := context.AfterFunc(req.Context(), cancel)
	defer stop()

	peer, err := r.authenticate(ctx, ws, r.opts.Host)
	if err != nil {
		r.opts.Logger.Info("securechat relay: authentication failed", "remote", req.RemoteAddr, "err", err)
		code := websocket.StatusPolicyViolation
		if errors.Is(err, context.Canceled) {
			code = websocket.StatusGoingAway
		}
		ws.Close(code, "authentication failed")
		return
	}
	c := &relayConn{r: r, ws: ws, peer: peer, cancel: cancel,
		out: make(chan frame, r.opts.OutboundQueue), wake: make(chan struct{}, 1),
		log: r.opts.Logger.With("peer", peer)}
	if !r.register(c) {
		r.opts.Logger.Warn("securechat relay: too many connections", "peer", peer, "limit", r.opts.MaxConnectionsPerPeer)
		ws.Close(websocket.StatusPolicyViolation, "too many connections for this identity")
		return
	}
	defer r.unregister(c)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		c.writeLoop(ctx)
	}()
	c.enqueue(frame{Type: frameWelcome, Peer: peer})
	c.notify()
	err = c.readLoop(ctx)
	cancel()
	wg.Wait()
	switch {
	case errors.Is(err, errSlowConsumer):
		ws.Close(websocket.StatusPolicyViolation, "slow consumer")
	case r.ctx.Err() != nil:
		ws.Close(websocket.StatusGoingAway, "relay shutting down")
	default:
		ws.Close(websocket.StatusNormalClosure, "")
	}
}

var errSlowConsumer = errors.New("securechat relay: slow consumer")

func (r *Relay) authenticate(ctx context.Context, ws *websocket.Conn, host string) (PeerID, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.AuthTimeout)
	defer cancel()
	nonce := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return "", err
	}
	b, _ := json.Marshal(frame{Type: frameChallenge, Data: nonce})
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		return "", err
	}
	_, msg, err := ws.Read(ctx)
	if err != nil {
		return "", err
	}
	f, err := decodeFrame(msg)
	if err != nil {
		return "", err
	}
	if f.Type != frameAuth {
		return "", fmt.Errorf("%w: expected auth frame, got %q", ErrUnauthorized, f.Type)
	}
	id, err := ParsePublicIdentity(f.Data)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	if len(f.Sig) != ed25519.SignatureSize || !ed25519.Verify(id.SigningKey, authMessage(host, nonce), f.Sig) {
		return "", fmt.Errorf("%w: %w: challenge signature", ErrUnauthorized, ErrBadSignature)
	}
	return id.ID(), nil
}

// register adds c to its peer's connections unless the peer is at
// MaxConnectionsPerPeer.
func (r *Relay) register(c *relayConn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.conns[c.peer]
	if len(m) >= r.opts.MaxConnectionsPerPeer {
		return false
	}
	if m == nil {
		m = make(map[*relayConn]struct{})
		r.conns[c.peer] = m
	}
	m[c] = struct{}{}
	return true
}

func (r *Relay) unregister(c *relayConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.conns[c.peer], c)
	if len(r.conns[c.peer]) == 0 {
		delete(r.conns, c.peer)
	}
}

// wakeRecipient tells every connection of peer that its mailbox has news.
func (r *Relay) wakeRecipient(peer PeerID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns[peer] {
		c.notify()
	}
}

// wakeAll tells every connection to re-read its mailbox (after wake-ups
// may have been missed).
func (r *Relay) wakeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.conns {
		for c := range m {
			c.notify()
		}
	}
}

func (c *relayConn) notify() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// enqueue queues a reply; a full queue means the client is not reading, so
// the connection is cut instead of buffering without bound.
func (c *relayConn) enqueue(f frame) bool {
	select {
	case c.out <- f:
		return true
	default:
		c.log.Warn("securechat relay: outbound queue full, disconnecting slow consumer")
		c.cancel()
		return false
	}
}

func (c *relayConn) write(ctx context.Context, f frame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, c.r.opts.WriteTimeout)
	defer cancel()
	if err := c.ws.Write(wctx, websocket.MessageText, b); err != nil {
		if ctx.Err() == nil {
			c.log.Warn("securechat relay: write failed or timed out; disconnecting", "err", err)
		}
		return err
	}
	return nil
}

// writeLoop is the connection's only writer: replies from the queue and
// mailbox deliveries pulled from the store (so an offline or slow recipient
// costs store space, bounded by MailboxLimit, not relay memory).
func (c *relayConn) writeLoop(ctx context.Context) {
	var last uint64
	var poll <-chan time.Time
	if c.r.opts.Notifier != nil {
		t := time.NewTicker(c.r.opts.PollInterval)
		defer t.Stop()
		poll = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-c.out:
			if c.write(ctx, f) != nil {
				return
			}
		case <-poll:
			c.notify()
		case <-c.wake:
			for {
				msgs, err := c.r.opts.Store.Pending(ctx, c.peer, last, deliverBatch, c.r.opts.Now())
				if err != nil {
					if ctx.Err() == nil {
						c.log.Error("securechat relay: read mailbox", "err", err)
					}
					return
				}
				for _, m := range msgs {
					// Counted before the write: the client may ack before
					// Write returns here.
					c.delivered.Add(1)
					if c.write(ctx, frame{Type: frameDeliver, ID: m.Seq, Data: m.Envelope, Time: m.Received.UnixMilli()}) != nil {
						return
					}
					last = m.Seq
				}
				if len(msgs) < deliverBatch {
					break
				}
				// Let queued replies through between batches.
				select {
				case f := <-c.out:
					if c.write(ctx, f) != nil {
						return
					}
				default:
				}
			}
		}
	}
}

func (c *relayConn) readLoop(ctx context.Context) error {
	lim := rate.NewLimiter(rate.Limit(c.r.opts.RateLimit), c.r.opts.RateBurst)
	var acked int64
	for {
		_, msg, err := c.ws.Read(ctx)
		if err != nil {
			if ctx.Err() != nil && c.r.ctx.Err() == nil {
				return errSlowConsumer
			}
			return err
		}
		f, err := decodeFrame(msg)
		if err != nil {
			if !c.enqueue(frame{Type: frameError, Code: codeMalformed, Error: err.Error()}) {
				return errSlowConsumer
			}
			continue
		}
		free := f.Type == frameAck && acked < c.delivered.Load()
		if free {
			acked++
		}
		if !free && !lim.Allow() {
			if !c.enqueue(frame{Type: frameError, ID: f.ID, Code: codeRateLimited, Error: "too many requests"}) {
				return errSlowConsumer
			}
			continue
		}
		if reply, ok := c.handle(ctx, f); ok {
			if !c.enqueue(reply) {
				return errSlowConsumer
			}
		}
	}
}

func errorFrame(id uint64, err error) frame {
	code := codeInternal
	switch {
	case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrBadSignature):
		code = codeUnauthorized
	case errors.Is(err, ErrMailboxFull):
		code = codeMailboxFull
	case errors.Is(err, ErrQuotaExceeded):
		code = codeQuota
	case errors.Is(err, ErrNotFound):
		code = codeNotFound
	case errors.Is(err, ErrTooLarge):
		code = codeTooLarge
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrLowOrderKey):
		code = codeMalformed
	}
	return frame{Type: frameError, ID: id, Code: code, Error: err.Error()}
}

func (c *relayConn) handle(ctx context.Context, f frame) (frame, bool) {
	r := c.r
	switch f.Type {
	case frameAck:
		if err := r.opts.Store.Ack(ctx, c.peer, f.ID); err != nil {
			c.log.Error("securechat relay: ack", "err", err)
		}
		return frame{}, false
	case frameSend:
		env, err := ParseEnvelope(f.Data)
		if err != nil {
			return errorFrame(f.ID, err), true
		}
		if env.Sender != c.peer {
			return errorFrame(f.ID, fmt.Errorf("%w: envelope sender %s is not the authenticated %s", ErrUnauthorized, env.Sender, c.peer)), true
		}
		if err := r.storeEnvelope(ctx, c.peer, env.Recipient, f.Data); err != nil {
			return errorFrame(f.ID, err), true
		}
		r.wakeRecipient(env.Recipient)
		r.notifyOthers(ctx, env.Recipient)
		return frame{Type: frameOK, ID: f.ID}, true
	case framePublish:
		u, err := ParsePrekeyUpload(f.Data)
		if err != nil {
			return errorFrame(f.ID, err), true
		}
		if u.Identity.ID() != c.peer {
			return errorFrame(f.ID, fmt.Errorf("%w: prekeys for another identity", ErrUnauthorized)), true
		}
		signed := appendSignedPrekey(u.Identity.Marshal(), &u.SignedPrekey)
		otks := make([]StoredPrekey, len(u.OneTime))
		for i, k := range u.OneTime {
			otks[i] = StoredPrekey{ID: k.ID, Public: append([]byte(nil), k.Public[:]...)}
		}
		if err := r.opts.Store.PutPrekeys(ctx, c.peer, signed, otks); err != nil {
			return errorFrame(f.ID, err), true
		}
		_, left, err := r.opts.Store.PeekPrekeys(ctx, c.peer)
		if err != nil {
			return errorFrame(f.ID, err), true
		}
		return frame{Type: frameOK, ID: f.ID, Count: left}, true
	case frameFetch:
		return c.fetch(ctx, f), true
	default:
		return errorFrame(f.ID, fmt.Errorf("%w: unknown frame type %q", ErrMalformed, f.Type)), true
	}
}

// storeEnvelope stores data, an envelope from sender to recipient, if the
// relay admits it: only for a recipient that has published prekeys
// (anyone else could never read it, so storing it only costs the relay),
// and only within the mailbox limit and the sender's and the relay's
// quotas. The store checks those and appends in one step, so racing sends,
// on this relay or on others sharing the store, cannot together pass them.
func (r *Relay) storeEnvelope(ctx context.Context, sender, recipient PeerID, data []byte) error {
	if _, _, err := r.opts.Store.PeekPrekeys(ctx, recipient); err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: recipient %s has not published prekeys", ErrNotFound, recipient)
		}
		return err
	}
	now := r.opts.Now()
	_, err := r.opts.Store.Enqueue(ctx, recipient, StoredEnvelope{Sender: sender, Envelope: data,
		Received: now, Expires: now.Add(r.opts.MessageTTL)},
		EnqueueLimits{Mailbox: r.opts.MailboxLimit, SenderBytes: r.opts.SenderQuota, TotalBytes: r.opts.StorageQuota})
	return err
}

// StorageQuota returns the relay's limit on stored bytes
// (RelayOptions.StorageQuota).
func (r *Relay) StorageQuota() int64 { return r.opts.StorageQuota }

// Usage returns what the relay's store holds undelivered, for operators.
func (r *Relay) Usage(ctx context.Context) (StorageUsage, error) {
	return r.opts.Store.Usage(ctx)
}

// fetch hands out a bundle: requesters are rate limited per identity, and
// one-time prekeys per target; past the target's budget the bundle has no
// one-time prekey. After a one-time prekey is taken the target's
// connections are told how many are left, so they can refill.
func (c *relayConn) fetch(ctx context.Context, f frame) frame {
	r := c.r
	if _, err := ParsePeerID(string(f.Peer)); err != nil {
		return errorFrame(f.ID, err)
	}
	now := r.opts.Now()
	if !r.fetchLim.allow(c.peer, now) {
		return frame{Type: frameError, ID: f.ID, Code: codeRateLimited, Error: "too many prekey fetches"}
	}
	var signed []byte
	var otk *StoredPrekey
	interval, burst := r.targetBudget()
	ok, err := r.opts.Store.TakeToken(ctx, targetBucket(f.Peer), interval, burst, now)
	switch {
	case err != nil:
	case ok:
		signed, otk, err = r.opts.Store.TakeBundle(ctx, f.Peer)
	default:
		signed, _, err = r.opts.Store.PeekPrekeys(ctx, f.Peer)
	}
	if err != nil {
		return errorFrame(f.ID, err)
	}
	b, err := assembleBundle(signed, otk)
	if err != nil {
		return errorFrame(f.ID, err)
	}
	if otk != nil {
		r.reportPrekeys(ctx, f.Peer)
	}
	return frame{Type: frameBundle, ID: f.ID, Peer: f.Peer, Data: b}
}

// targetBucket names the token bucket of target's one-time prekeys.
func targetBucket(target PeerID) string { return "prekeys:" + string(target) }

// targetBudget is a target's one-time prekey budget as a Store token
// bucket: TargetRate as an interval (at least a nanosecond) and
// TargetBurst. A budget spanning more than the year a Store accepts (which
// would fail every fetch) keeps its burst and refills in a year.
func (r *Relay) targetBudget() (time.Duration, int) {
	burst := min(r.opts.TargetBurst, int(maxBucketSpan))
	interval := maxBucketSpan / time.Duration(burst)
	if ns := float64(time.Second) / r.opts.TargetRate; ns < float64(interval) {
		interval = max(time.Duration(ns), time.Nanosecond)
	}
	return interval, burst
}

// reportPrekeys tells peer's connections how many one-time prekeys are left.
func (r *Relay) reportPrekeys(ctx context.Context, peer PeerID) {
	_, left, err := r.opts.Store.PeekPrekeys(ctx, peer)
	if err != nil {
		r.opts.Logger.Warn("securechat relay: count prekeys", "peer", peer, "err", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns[peer] {
		c.enqueue(frame{Type: framePrekeys, Count: left})
	}
}

func assembleBundle(signed []byte, otk *StoredPrekey) ([]byte, error) {
	if len(signed) != PublicIdentitySize+signedPrekeySize {
		return nil, fmt.Errorf("%w: stored signed prekey", ErrMalformed)
	}
	out := append([]byte(nil), signed...)
	if otk == nil {
		return append(out, 0), nil
	}
	if len(otk.Public) != KeySize {
		return nil, fmt.Errorf("%w: stored one-time prekey", ErrMalformed)
	}
	out = append(out, 1)
	out = append(out, byte(otk.ID>>24), byte(otk.ID>>16), byte(otk.ID>>8), byte(otk.ID))
	return append(out, otk.Public...), nil
}
