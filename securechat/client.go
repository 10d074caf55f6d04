package securechat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// ClientOptions configures a Client. URL and Identity are required.
type ClientOptions struct {
	// URL is the relay's WebSocket URL: wss://, or ws:// to a loopback
	// host (localhost, 127.0.0.0/8, ::1). Plain ws:// elsewhere is refused
	// with ErrInsecureTransport unless AllowInsecureTransport is set: a
	// network attacker could read the metadata, drop or reorder envelopes
	// and, if the relay's host were not configured, relay its login.
	URL string
	// AllowInsecureTransport permits ws:// to a non-loopback host (for
	// example a relay behind a TLS-terminating proxy on a private network).
	AllowInsecureTransport bool
	// Identity is the client's long-term identity.
	Identity *Identity
	// State restores sessions, prekeys and groups saved with MarshalState.
	State []byte
	// SaveState, when set, is the write-ahead hook: it is called with the
	// client's whole state (MarshalState) every time that state advances,
	// and the client waits for it before the result can leave the process:
	// after each encryption and before the envelope is handed to the relay
	// (a failure fails Send and nothing is sent), after each decryption and
	// before the delivery is acknowledged, and after prekeys change. Calls
	// are serialized and each passes a state at least as new as the one
	// before, so the last one written is always the newest. A client that
	// restarts from what SaveState last stored therefore never re-sends
	// from a sending chain position already on the wire. Store the bytes
	// encrypted (they hold secret keys) and durably (write and rename).
	SaveState func(ctx context.Context, state []byte) error
	// Deliver, when set, takes every incoming message instead of the
	// Messages channel, and is the app's chance to store it before the
	// relay forgets it: the client calls it after decrypting and before
	// it saves the state (SaveState) and acknowledges the delivery, and
	// waits for it. A message is therefore lost by no crash: one before
	// Deliver returns leaves the delivery unacknowledged and the saved
	// state before it, so the restarted client gets and decrypts it
	// again; one after the state was saved gets the redelivery refused
	// by the ratchet as a replay. Between the two (Deliver returned, the
	// state not saved yet) Deliver sees the message again after the
	// restart, with the same Message.ID: store messages by ID.
	//
	// An error is retried, with back-off, until Deliver succeeds or the
	// client is closed (Close cancels ctx and waits for Deliver to return);
	// meanwhile nothing more is read from the relay nor the state saved.
	// Deliver runs on the connection goroutine, one message at a time; it
	// must heed ctx and not wait for Send or calls that save the state.
	Deliver func(ctx context.Context, m Message) error
	// OneTimePrekeys is how many one-time prekeys are kept published
	// (default 50); when the relay reports that fewer than half are left,
	// the client makes and publishes new ones.
	OneTimePrekeys int
	// SignedPrekeyRotation is how often the signed prekey is replaced
	// (default 7 days; the X3DH specification suggests weekly or monthly).
	// The previous one is kept for initial messages still in flight. It is
	// checked on every connection and periodically while connected.
	SignedPrekeyRotation time.Duration
	// Session tunes every session the client creates.
	Session *SessionOptions
	// MinBackoff and MaxBackoff bound the reconnect delay (default 100 ms
	// and 30 s); it doubles after each failed attempt, with jitter.
	MinBackoff, MaxBackoff time.Duration
	// Inbox is the Messages channel's buffer (default 1024). Read Messages
	// promptly: while it is full the client stops reading from the relay.
	Inbox int
	// Logger receives connection events (slog.Default when nil): a
	// *slog.Logger (ClientLogger), or under GOOS=js, where log/slog is not
	// linked into the WebAssembly module, an *EventLogger.
	Logger ClientLogger
}

// logger is what a Client logs through: *slog.Logger, or *EventLogger
// under GOOS=js.
type logger interface {
	Debug(msg string, args ...any)
	Warn(msg string, args ...any)
}

// Message is a decrypted message delivered by a Client.
type Message struct {
	// ID names the delivery: the hex SHA-256 of its envelope (every byte
	// of which is authenticated), the same when the relay delivers it
	// again, so an app can tell a redelivery from a new message.
	ID    string
	From  PeerID
	Group string // empty for a direct message
	Body  []byte
	Time  time.Time // when the relay received it
}

// Group is a small group conversation: pairwise sessions with each member
// (fan-out), membership managed by its owner.
type Group struct {
	ID      string
	Owner   PeerID
	Members []PeerID
}

// Client ties an identity, its sessions and a relay connection together.
// It connects in the background and reconnects with exponential back-off;
// Send blocks until the relay has stored the envelope (retrying across
// reconnects), so an app is a thin layer over Send and Messages.
type Client struct {
	opts    ClientOptions
	id      *Identity
	prekeys *Prekeys
	host    string
	log     logger
	inbox   chan Message

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	cur       *clientConn
	connected chan struct{} // closed while a connection is up
	nextID    uint64
	peers     map[PeerID]*peerState
	groups    map[string]*Group
	closed    bool
	published chan struct{} // closed after the first successful prekey upload
	pubOnce   sync.Once

	saveMu    sync.Mutex  // serializes SaveState calls
	refilling atomic.Bool // a one-time prekey refill is being published
}

type clientConn struct {
	ws      wsConn
	done    chan struct{}
	pending map[uint64]chan frame
}

type peerState struct {
	sendMu   sync.Mutex
	sessions []*Session // sessions[0] is used for sending
}

// maxSessionsPerPeer bounds the sessions kept per peer (a new one appears
// when both sides start a conversation at once or a peer re-installs).
const maxSessionsPerPeer = 4

// NewClient starts a client; it connects in the background. Close it when
// done.
func NewClient(opts ClientOptions) (*Client, error) {
	if opts.Identity == nil {
		return nil, errorf("%w: client needs an identity", ErrMalformed)
	}
	scheme, host, hostname, ok := parseRelayURL(opts.URL)
	if !ok || (scheme != "ws" && scheme != "wss" && scheme != "http" && scheme != "https") || host == "" {
		return nil, errorf("%w: relay URL %q", ErrMalformed, opts.URL)
	}
	if (scheme == "ws" || scheme == "http") && !opts.AllowInsecureTransport && !isLoopback(hostname) {
		return nil, errorf("%w: %s (use wss://, or set AllowInsecureTransport)", ErrInsecureTransport, host)
	}
	if opts.SignedPrekeyRotation <= 0 {
		opts.SignedPrekeyRotation = 7 * 24 * time.Hour
	}
	if opts.OneTimePrekeys <= 0 {
		opts.OneTimePrekeys = 50
	}
	if opts.OneTimePrekeys > MaxOneTimePrekeys {
		opts.OneTimePrekeys = MaxOneTimePrekeys
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(30*time.Second, opts.MinBackoff)
	}
	if opts.Inbox <= 0 {
		opts.Inbox = 1024
	}
	c := &Client{opts: opts, id: opts.Identity, host: host, inbox: make(chan Message, opts.Inbox),
		connected: make(chan struct{}), published: make(chan struct{}), peers: make(map[PeerID]*peerState), groups: make(map[string]*Group),
		log: clientLog(opts.Logger, opts.Identity.ID())}
	if len(opts.State) > 0 {
		if err := c.restore(opts.State); err != nil {
			return nil, err
		}
	} else {
		var err error
		if c.prekeys, err = NewPrekeys(c.id, opts.OneTimePrekeys, nil); err != nil {
			return nil, err
		}
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(2)
	go c.run()
	go c.rotateLoop()
	return c, nil
}

// rotateLoop replaces the signed prekey when it is due (see
// SignedPrekeyRotation) and publishes the new one.
func (c *Client) rotateLoop() {
	defer c.wg.Done()
	t := time.NewTicker(min(c.opts.SignedPrekeyRotation/4, time.Hour))
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			if c.maybeRotate() {
				c.publishAsync(false)
			}
		}
	}
}

// maybeRotate rotates the signed prekey if it is old, or if its record of
// accepted base keys is filling up, and reports whether it did.
func (c *Client) maybeRotate() bool {
	if !c.prekeys.NeedsRotation(time.Now(), c.opts.SignedPrekeyRotation) {
		return false
	}
	if err := c.prekeys.RotateSignedPrekey(c.id); err != nil {
		c.log.Warn("securechat client: rotate signed prekey", "err", err)
		return false
	}
	c.log.Debug("securechat client: signed prekey rotated")
	return true
}

// refill makes new one-time prekeys when the relay reports that fewer
// than half of OneTimePrekeys are left, and publishes them; reports that
// arrive while a refill is being published are ignored.
func (c *Client) refill(left int) {
	if left >= c.opts.OneTimePrekeys/2 || !c.refilling.CompareAndSwap(false, true) {
		return
	}
	if _, err := c.prekeys.Replenish(c.opts.OneTimePrekeys - left); err != nil {
		c.log.Warn("securechat client: replenish one-time prekeys", "err", err)
		c.refilling.Store(false)
		return
	}
	c.publishAsync(true)
}

// ID returns the client's PeerID.
func (c *Client) ID() PeerID { return c.id.ID() }

// Messages returns the channel of decrypted incoming messages. It is closed
// by Close.
func (c *Client) Messages() <-chan Message { return c.inbox }

// Close disconnects and waits for the client's goroutines.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	close(c.inbox)
	return nil
}

// WaitConnected blocks until the client is connected, authenticated and has
// published its prekeys (so others can start sessions with it).
func (c *Client) WaitConnected(ctx context.Context) error {
	if _, err := c.waitConn(ctx); err != nil {
		return err
	}
	select {
	case <-c.published:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.ctx.Done():
		return ErrClosed
	}
}

func (c *Client) waitConn(ctx context.Context) (*clientConn, error) {
	for {
		c.mu.Lock()
		cur, ch := c.cur, c.connected
		c.mu.Unlock()
		if cur != nil {
			return cur, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.ctx.Done():
			return nil, ErrClosed
		}
	}
}

func (c *Client) run() {
	defer c.wg.Done()
	backoff := c.opts.MinBackoff
	for {
		start := time.Now()
		err := c.connectOnce()
		if c.ctx.Err() != nil {
			return
		}
		if time.Since(start) > 5*c.opts.MinBackoff && err != nil && !errors.Is(err, ErrUnauthorized) {
			backoff = c.opts.MinBackoff
		}
		c.log.Debug("securechat client: disconnected", "err", err, "retry_in", backoff)
		delay := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(delay):
		}
		backoff = min(2*backoff, c.opts.MaxBackoff)
	}
}

func (c *Client) connectOnce() error {
	ctx := c.ctx
	ws, err := dial(ctx, c.opts.URL)
	if err != nil {
		return err
	}
	defer ws.CloseNow()
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg, err := ws.Read(actx)
	if err != nil {
		return err
	}
	f, err := decodeFrame(msg)
	if err != nil {
		return err
	}
	if f.Type != frameChallenge || len(f.Data) < 16 {
		return errorf("%w: expected challenge", ErrMalformed)
	}
	auth := marshalFrame(frame{Type: frameAuth, Data: c.id.Public().Marshal(), Sig: c.id.Sign(authMessage(c.host, f.Data))})
	if err := ws.Write(actx, auth); err != nil {
		return err
	}
	msg, err = ws.Read(actx)
	if err != nil {
		return errorf("%w: %w", ErrUnauthorized, err)
	}
	if f, err = decodeFrame(msg); err != nil {
		return err
	}
	if f.Type != frameWelcome || f.Peer != c.id.ID() {
		return errorf("%w: relay did not welcome us", ErrUnauthorized)
	}
	cc := &clientConn{ws: ws, done: make(chan struct{}), pending: make(map[uint64]chan frame)}
	c.mu.Lock()
	c.cur = cc
	close(c.connected)
	c.mu.Unlock()
	c.log.Debug("securechat client: connected")
	defer func() {
		c.mu.Lock()
		c.cur = nil
		c.connected = make(chan struct{})
		close(cc.done)
		c.mu.Unlock()
	}()
	c.maybeRotate()
	c.publishAsync(false)
	for {
		msg, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		f, err := decodeFrame(msg)
		if err != nil {
			c.log.Warn("securechat client: bad frame from relay", "err", err)
			continue
		}
		switch f.Type {
		case frameDeliver:
			if err := c.handleDeliver(ctx, f); err != nil {
				return err
			}
			ack := marshalFrame(frame{Type: frameAck, ID: f.ID})
			if err := ws.Write(ctx, ack); err != nil {
				return err
			}
		case framePrekeys:
			c.refill(f.Count)
		default:
			c.mu.Lock()
			ch := cc.pending[f.ID]
			delete(cc.pending, f.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- f
			} else if f.Type == frameError {
				c.log.Warn("securechat client: relay error", "code", f.Code, "err", f.Error)
			}
		}
	}
}

// publishAsync uploads the prekeys in the background. A refill's own
// publish (fromRefill) ends the refill when done; any other publish starts
// a refill if the relay's reply reports a low count (a refill's does not,
// so a store that keeps too few cannot make it loop).
func (c *Client) publishAsync(fromRefill bool) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
		defer cancel()
		// Private halves first: a public prekey whose private key was
		// lost in a crash would make its initiator's message undecryptable.
		err := c.persist(ctx)
		var reply frame
		if err == nil {
			reply, err = c.request(ctx, frame{Type: framePublish, Data: c.prekeys.Upload(c.id).Marshal()})
		}
		if fromRefill {
			c.refilling.Store(false)
		}
		if err != nil {
			if c.ctx.Err() == nil {
				c.log.Warn("securechat client: publish prekeys", "err", err)
			}
			return
		}
		c.pubOnce.Do(func() { close(c.published) })
		if !fromRefill {
			c.refill(reply.Count)
		}
	}()
}

// request sends f and waits for the reply with the same id, re-sending on
// the next connection if the current one drops first. An envelope sent twice
// this way is recognised by the recipient as a replay and dropped.
func (c *Client) request(ctx context.Context, f frame) (frame, error) {
	backoff := 50 * time.Millisecond
	for {
		cc, err := c.waitConn(ctx)
		if err != nil {
			return frame{}, err
		}
		ch := make(chan frame, 1)
		c.mu.Lock()
		c.nextID++
		f.ID = c.nextID
		cc.pending[f.ID] = ch
		c.mu.Unlock()
		b := marshalFrame(f)
		if err := cc.ws.Write(ctx, b); err != nil {
			c.mu.Lock()
			delete(cc.pending, f.ID)
			c.mu.Unlock()
			if ctx.Err() != nil {
				return frame{}, ctx.Err()
			}
			select {
			case <-cc.done:
			case <-ctx.Done():
				return frame{}, ctx.Err()
			}
			continue
		}
		select {
		case r := <-ch:
			if r.Type != frameError {
				return r, nil
			}
			if r.Code != codeRateLimited {
				return frame{}, errorFor(r)
			}
			select { // rate limited: back off and retry
			case <-time.After(backoff):
				backoff = min(2*backoff, 2*time.Second)
			case <-ctx.Done():
				return frame{}, ctx.Err()
			}
		case <-cc.done:
		case <-ctx.Done():
			c.mu.Lock()
			delete(cc.pending, f.ID)
			c.mu.Unlock()
			return frame{}, ctx.Err()
		}
	}
}

func (c *Client) peer(p PeerID) *peerState {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := c.peers[p]
	if ps == nil {
		ps = &peerState{}
		c.peers[p] = ps
	}
	return ps
}

func (c *Client) activeSession(p PeerID) *Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps := c.peers[p]; ps != nil && len(ps.sessions) > 0 {
		return ps.sessions[0]
	}
	return nil
}

// addSession makes s the sending session for its peer.
func (c *Client) addSession(s *Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := s.Peer().ID()
	ps := c.peers[p]
	if ps == nil {
		ps = &peerState{}
		c.peers[p] = ps
	}
	ps.sessions = append([]*Session{s}, ps.sessions...)
	if len(ps.sessions) > maxSessionsPerPeer {
		ps.sessions = ps.sessions[:maxSessionsPerPeer]
	}
}

// Send encrypts body for peer and hands it to the relay, creating a session
// (fetching the peer's prekey bundle) on first use. Messages to one peer are
// sent in call order.
func (c *Client) Send(ctx context.Context, to PeerID, body []byte) error {
	return c.sendPayload(ctx, to, encodeInner(inner{kind: kindDirect, body: body}))
}

func (c *Client) sendPayload(ctx context.Context, to PeerID, payload []byte) error {
	if _, err := ParsePeerID(string(to)); err != nil {
		return err
	}
	if to == c.ID() {
		return errorf("%w: cannot send to yourself", ErrMalformed)
	}
	ps := c.peer(to)
	ps.sendMu.Lock()
	defer ps.sendMu.Unlock()
	s := c.activeSession(to)
	if s == nil {
		f, err := c.request(ctx, frame{Type: frameFetch, Peer: to})
		if err != nil {
			return errorf("securechat: fetch bundle for %s: %w", to, err)
		}
		b, err := ParseBundle(f.Data)
		if err != nil {
			return errorf("securechat: bundle for %s: %w", to, err)
		}
		if b.Identity.ID() != to {
			return errorf("%w: relay returned the bundle of %s for %s", ErrBadSignature, b.Identity.ID(), to)
		}
		ns, err := Initiate(c.id, b, c.opts.Session)
		if err != nil {
			return err
		}
		if s = c.activeSession(to); s == nil { // an initial message may have arrived meanwhile
			c.addSession(ns)
			s = ns
		}
	}
	env, err := s.Encrypt(payload)
	if err != nil {
		return err
	}
	// Write-ahead: the advanced sending chain is stored before its
	// ciphertext exists anywhere but in this process.
	if err := c.persist(ctx); err != nil {
		return errorf("securechat: save state before sending to %s: %w", to, err)
	}
	if _, err := c.request(ctx, frame{Type: frameSend, Data: env.Marshal()}); err != nil {
		return errorf("securechat: send to %s: %w", to, err)
	}
	return nil
}

// persist hands the current state to the SaveState hook, if any. The
// snapshot is taken under saveMu, so concurrent callers store their
// snapshots in the order they were taken.
func (c *Client) persist(ctx context.Context) error {
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	return c.persistLocked(ctx)
}

// persistLocked is persist for a caller that holds saveMu. A closed
// client saves nothing more: its sessions may have consumed the keys of
// messages Deliver never took, which a restart must be able to decrypt.
func (c *Client) persistLocked(ctx context.Context) error {
	if c.opts.SaveState == nil {
		return nil
	}
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	st, err := c.MarshalState()
	if err != nil {
		return err
	}
	return c.opts.SaveState(ctx, st)
}

func (c *Client) decrypt(env *Envelope) ([]byte, error) {
	c.mu.Lock()
	var sessions []*Session
	if ps := c.peers[env.Sender]; ps != nil {
		sessions = append(sessions, ps.sessions...)
	}
	c.mu.Unlock()
	if env.Type == TypeInitial && env.Prekey != nil {
		for _, s := range sessions {
			if !s.Initiator() && s.BaseKey() == env.Prekey.BaseKey {
				return s.Decrypt(env)
			}
		}
		s, pt, err := Accept(c.id, c.prekeys, env, c.opts.Session)
		if err != nil {
			return nil, err
		}
		c.addSession(s)
		if c.maybeRotate() { // the base-key record of the signed prekey fills up
			c.publishAsync(false)
		}
		return pt, nil
	}
	if len(sessions) == 0 {
		return nil, errorf("%w: %s", ErrNoSession, env.Sender)
	}
	var firstErr error
	for _, s := range sessions {
		pt, err := s.Decrypt(env)
		if err == nil || errors.Is(err, ErrReplay) {
			return pt, err
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// handleDeliver decrypts a delivery and hands it to the app (Deliver or
// Messages); the caller acknowledges it when it returns nil. No state that
// has consumed the message's key is saved before Deliver returned: saveMu
// is held from the decryption to the save, so a concurrent Send's save
// waits instead of storing the advanced session first. An error means the
// client is closing before Deliver took the message: nothing was saved and
// nothing may be acknowledged.
func (c *Client) handleDeliver(ctx context.Context, f frame) error {
	env, err := ParseEnvelope(f.Data)
	if err != nil {
		c.log.Warn("securechat client: undecodable envelope dropped", "err", err)
		return nil
	}
	if env.Recipient != c.ID() {
		c.log.Warn("securechat client: envelope for someone else dropped", "recipient", env.Recipient)
		return nil
	}
	c.saveMu.Lock()
	pt, err := c.decrypt(env)
	if errors.Is(err, ErrReplay) {
		c.saveMu.Unlock()
		return nil // already delivered before a reconnect
	}
	if err != nil {
		c.saveMu.Unlock()
		c.log.Warn("securechat client: message dropped", "from", env.Sender, "err", err)
		return nil
	}
	msg, ok := c.messageOf(env, f, pt)
	if ok && c.opts.Deliver != nil {
		if err := c.deliverHook(ctx, msg); err != nil {
			c.saveMu.Unlock()
			return err
		}
	}
	// Saved before the ack: a restart from the saved state has consumed
	// this message's key, so the relay cannot replay it into a rolled-back
	// session. The message is still delivered if saving fails (it is
	// already decrypted; a redelivery would be dropped as a replay),
	// unless the client is closing: then it is not acknowledged either,
	// as if the process had died before the save.
	if err := c.persistLocked(ctx); err != nil {
		if ctx.Err() != nil {
			c.saveMu.Unlock()
			return ctx.Err()
		}
		c.log.Warn("securechat client: save state after receiving", "err", err)
	}
	c.saveMu.Unlock()
	if !ok || c.opts.Deliver != nil {
		return nil
	}
	select {
	case c.inbox <- msg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// messageOf reads the decrypted payload pt of the delivery f and returns
// the message it carries for the app, if any (a group update is applied
// instead; a bad payload or a group message from a non-member is dropped).
func (c *Client) messageOf(env *Envelope, f frame, pt []byte) (Message, bool) {
	in, err := decodeInner(pt)
	if err != nil {
		c.log.Warn("securechat client: bad payload dropped", "from", env.Sender, "err", err)
		return Message{}, false
	}
	sum := sha256.Sum256(f.Data)
	msg := Message{ID: hex.EncodeToString(sum[:]), From: env.Sender, Body: in.body, Time: time.UnixMilli(f.Time)}
	switch in.kind {
	case kindGroup:
		if !c.isMember(in.group, env.Sender) {
			c.log.Warn("securechat client: group message from non-member dropped", "group", in.group, "from", env.Sender)
			return Message{}, false
		}
		msg.Group = in.group
	case kindGroupUpdate:
		c.applyGroupUpdate(env.Sender, in)
		return Message{}, false
	}
	return msg, true
}

// deliverHook calls Deliver until it succeeds or ctx ends.
func (c *Client) deliverHook(ctx context.Context, m Message) error {
	backoff := 50 * time.Millisecond
	for {
		err := c.opts.Deliver(ctx, m)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.log.Warn("securechat client: deliver hook failed, retrying", "from", m.From, "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
			backoff = min(2*backoff, 5*time.Second)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
