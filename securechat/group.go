package securechat

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
)

// Inner payload (the plaintext inside a ratchet message):
//
//	kind (1) = 1 direct:       body
//	kind (1) = 2 group:        len (1) || group id || body
//	kind (1) = 3 group update: len (1) || group id || count (2) || (len (1) || member)*
const (
	kindDirect      = 1
	kindGroup       = 2
	kindGroupUpdate = 3
)

// Group limits.
const (
	MaxGroupIDLen   = 64
	MaxGroupMembers = 64
)

type inner struct {
	kind    byte
	group   string
	members []PeerID
	body    []byte
}

func encodeInner(in inner) []byte {
	out := []byte{in.kind}
	if in.kind != kindDirect {
		out = append(out, byte(len(in.group)))
		out = append(out, in.group...)
	}
	if in.kind == kindGroupUpdate {
		out = binary.BigEndian.AppendUint16(out, uint16(len(in.members)))
		for _, m := range in.members {
			out = append(out, byte(len(m)))
			out = append(out, m...)
		}
		return out
	}
	return append(out, in.body...)
}

func decodeInner(b []byte) (inner, error) {
	r := reader{b: b}
	in := inner{kind: r.u8()}
	if r.err != nil {
		return in, errorf("%w: empty payload", ErrMalformed)
	}
	switch in.kind {
	case kindDirect:
		in.body = b[1:]
		return in, nil
	case kindGroup, kindGroupUpdate:
	default:
		return in, errorf("%w: payload kind %d", ErrMalformed, in.kind)
	}
	n := int(r.u8())
	if n == 0 || n > MaxGroupIDLen {
		return in, errorf("%w: group id length %d", ErrMalformed, n)
	}
	in.group = string(r.bytes(n))
	if in.kind == kindGroup {
		if r.err != nil {
			return in, r.err
		}
		in.body = b[r.off:]
		return in, nil
	}
	count := int(r.u16())
	if count > MaxGroupMembers {
		return in, errorf("%w: %d group members, limit %d", ErrTooLarge, count, MaxGroupMembers)
	}
	for range count {
		m, err := ParsePeerID(string(r.bytes(int(r.u8()))))
		if err != nil {
			return in, err
		}
		in.members = append(in.members, m)
	}
	return in, r.end()
}

func validGroupID(id string) error {
	if len(id) == 0 || len(id) > MaxGroupIDLen {
		return errorf("%w: group id must be 1..%d bytes", ErrMalformed, MaxGroupIDLen)
	}
	return nil
}

// SetGroup creates a group owned by this client, or (for its owner) changes
// its membership, and tells every old and new member the new member list.
// Removed members get the update that excludes them and receive no further
// group messages (each message is encrypted pairwise to current members).
func (c *Client) SetGroup(ctx context.Context, groupID string, members []PeerID) error {
	if err := validGroupID(groupID); err != nil {
		return err
	}
	set := []PeerID{c.ID()}
	for _, m := range members {
		if _, err := ParsePeerID(string(m)); err != nil {
			return err
		}
		if !slices.Contains(set, m) {
			set = append(set, m)
		}
	}
	if len(set) > MaxGroupMembers {
		return errorf("%w: %d members, limit %d", ErrTooLarge, len(set), MaxGroupMembers)
	}
	c.mu.Lock()
	old := c.groups[groupID]
	if old != nil && old.Owner != c.ID() {
		c.mu.Unlock()
		return errorf("%w: only the owner %s changes group %q", ErrNotMember, old.Owner, groupID)
	}
	notify := slices.Clone(set)
	if old != nil {
		for _, m := range old.Members {
			if !slices.Contains(notify, m) {
				notify = append(notify, m)
			}
		}
	}
	c.groups[groupID] = &Group{ID: groupID, Owner: c.ID(), Members: set}
	c.mu.Unlock()
	payload := encodeInner(inner{kind: kindGroupUpdate, group: groupID, members: set})
	var errs []error
	for _, m := range notify {
		if m == c.ID() {
			continue
		}
		if err := c.sendPayload(ctx, m, payload); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// SendGroup sends body to every other member of the group, each over its
// own pairwise session.
func (c *Client) SendGroup(ctx context.Context, groupID string, body []byte) error {
	g, ok := c.Group(groupID)
	if !ok || !slices.Contains(g.Members, c.ID()) {
		return errorf("%w: %q", ErrNotMember, groupID)
	}
	payload := encodeInner(inner{kind: kindGroup, group: groupID, body: body})
	var errs []error
	for _, m := range g.Members {
		if m == c.ID() {
			continue
		}
		if err := c.sendPayload(ctx, m, payload); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Group returns a copy of a group this client belongs to.
func (c *Client) Group(groupID string) (Group, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[groupID]
	if g == nil {
		return Group{}, false
	}
	return Group{ID: g.ID, Owner: g.Owner, Members: slices.Clone(g.Members)}, true
}

func (c *Client) isMember(groupID string, p PeerID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[groupID]
	return g != nil && slices.Contains(g.Members, p) && slices.Contains(g.Members, c.ID())
}

// applyGroupUpdate accepts a member list from the group's owner (the first
// sender of an update for an unknown group becomes its owner).
func (c *Client) applyGroupUpdate(from PeerID, in inner) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[in.group]
	if g != nil && g.Owner != from {
		c.log.Warn("securechat client: group update from non-owner ignored", "group", in.group, "from", from)
		return
	}
	if !slices.Contains(in.members, c.ID()) {
		delete(c.groups, in.group)
		return
	}
	if g == nil && !slices.Contains(in.members, from) {
		return
	}
	c.groups[in.group] = &Group{ID: in.group, Owner: from, Members: slices.Clone(in.members)}
}

type clientState struct {
	Version  int                 `json:"version"`
	Prekeys  []byte              `json:"prekeys"`
	Sessions map[PeerID][][]byte `json:"sessions"`
	Groups   []Group             `json:"groups"`
}

// MarshalState serializes the client's prekeys, sessions and groups
// (secret material) so a later NewClient with ClientOptions.State resumes
// every conversation. Encrypt it at rest, e.g. with Identity.SealTo to the
// identity itself.
func (c *Client) MarshalState() ([]byte, error) {
	st := clientState{Version: 1, Sessions: map[PeerID][][]byte{}}
	var err error
	if st.Prekeys, err = c.prekeys.MarshalBinary(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, ps := range c.peers {
		for _, s := range ps.sessions {
			b, err := s.MarshalBinary()
			if err != nil {
				return nil, err
			}
			st.Sessions[p] = append(st.Sessions[p], b)
		}
	}
	for _, g := range c.groups {
		st.Groups = append(st.Groups, *g)
	}
	return marshalState(&st)
}

func (c *Client) restore(data []byte) error {
	st, err := unmarshalState(data)
	if err != nil {
		return errorf("%w: client state: %v", ErrMalformed, err)
	}
	if st.Version != 1 {
		return errorf("%w: client state version %d", ErrMalformed, st.Version)
	}
	pk, err := UnmarshalPrekeys(st.Prekeys, nil)
	if err != nil {
		return err
	}
	c.prekeys = pk
	for p, list := range st.Sessions {
		ps := &peerState{}
		for _, b := range list {
			s, err := UnmarshalSession(b, c.opts.Session)
			if err != nil {
				return err
			}
			if s.Peer().ID() != p || s.self.ID() != c.ID() {
				return errorf("%w: client state session belongs elsewhere", ErrMalformed)
			}
			ps.sessions = append(ps.sessions, s)
		}
		c.peers[p] = ps
	}
	for _, g := range st.Groups {
		if err := validGroupID(g.ID); err != nil {
			return err
		}
		c.groups[g.ID] = &Group{ID: g.ID, Owner: g.Owner, Members: g.Members}
	}
	return nil
}
