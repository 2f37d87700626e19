package identity

import (
	"slices"
	"sync"
	"time"
)

// DefaultAuthCacheTTL is how long Authenticate trusts a positive check when Config.AuthCacheTTL is zero.
const DefaultAuthCacheTTL = 5 * time.Second

// DefaultAuthCacheSize is how many sessions the Authenticate cache holds when Config.AuthCacheSize is zero.
const DefaultAuthCacheSize = 10_000

// authCache remembers, per session id, the principal that Authenticate last let through, until a
// short deadline. It holds only positive outcomes. Every operation of the Service that can change an
// outcome drops the affected entries (drop*) after writing to the store; the epoch, bumped by every
// drop, keeps an Authenticate that read the store before such a write from caching what it read.
// A nil *authCache caches nothing. Safe for concurrent use.
type authCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	epoch   uint64
	entries map[string]authEntry // by session id
}

type authEntry struct {
	p       Principal
	expires time.Time // the entry is valid strictly before this
}

// newAuthCache returns a cache of at most size entries, each kept for ttl; nil when ttl < 0.
func newAuthCache(ttl time.Duration, size int) *authCache {
	if ttl < 0 {
		return nil
	}
	return &authCache{ttl: ttl, max: size, entries: make(map[string]authEntry)}
}

// get returns the cached principal of p's session when it is still valid at now and was cached for
// the same user, organisation and device as p claims.
func (c *authCache) get(p Principal, now time.Time) (Principal, bool) {
	if c == nil {
		return Principal{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[p.SessionID]
	if !ok {
		return Principal{}, false
	}
	if !now.Before(e.expires) {
		delete(c.entries, p.SessionID)
		return Principal{}, false
	}
	if e.p.UserID != p.UserID || e.p.OrgID != p.OrgID || e.p.DeviceID != p.DeviceID {
		return Principal{}, false
	}
	out := e.p
	out.Roles = slices.Clone(e.p.Roles)
	return out, true
}

// begin returns the epoch to hand to put, taken before reading the store.
func (c *authCache) begin() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// put caches p (which passed at now) until now+ttl, but not past sessionExpires, unless something
// was dropped since begin returned epoch (the store reads may predate that change).
func (c *authCache) put(epoch uint64, p Principal, now, sessionExpires time.Time) {
	if c == nil {
		return
	}
	expires := now.Add(c.ttl)
	if sessionExpires.Before(expires) {
		expires = sessionExpires
	}
	if !now.Before(expires) {
		return
	}
	p.Roles = slices.Clone(p.Roles)
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if _, ok := c.entries[p.SessionID]; !ok && len(c.entries) >= c.max {
		c.evict(now)
	}
	c.entries[p.SessionID] = authEntry{p: p, expires: expires}
}

// evict makes room: it drops the expired entries, then arbitrary ones until at most nine tenths of
// the capacity is used. Called with mu held.
func (c *authCache) evict(now time.Time) {
	for id, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, id)
		}
	}
	for id := range c.entries {
		if len(c.entries) < c.max-c.max/10 {
			break
		}
		delete(c.entries, id)
	}
}

// dropSession forgets a session.
func (c *authCache) dropSession(sessionID string) {
	c.drop(func(e authEntry) bool { return e.p.SessionID == sessionID })
}

// dropDevice forgets every session of a device.
func (c *authCache) dropDevice(orgID, deviceID string) {
	c.drop(func(e authEntry) bool { return e.p.OrgID == orgID && e.p.DeviceID == deviceID })
}

// dropUser forgets every session of a user.
func (c *authCache) dropUser(orgID, userID string) {
	c.drop(func(e authEntry) bool { return e.p.OrgID == orgID && e.p.UserID == userID })
}

func (c *authCache) drop(match func(authEntry) bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for id, e := range c.entries {
		if match(e) {
			delete(c.entries, id)
		}
	}
}
