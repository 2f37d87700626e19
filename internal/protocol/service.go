package protocol

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// Service publishes protocol documents as versions and serves the published library. It keeps the
// latest versions in memory (they are read on every request) and picks up versions published by
// other instances on Refresh.
type Service struct {
	store Store
	log   *slog.Logger
	now   func() time.Time

	mu      sync.RWMutex
	library Library
	old     map[versionKey]Version // immutable non-latest versions read so far
}

type versionKey struct {
	id     string
	number int
}

// Library is a snapshot of the latest published versions. Generation changes whenever any of them does.
type Library struct {
	Generation uint64
	Latest     []Version // sorted by protocol id
}

// Find returns the latest version of protocol id.
func (l Library) Find(id string) (Version, bool) {
	i, found := slices.BinarySearchFunc(l.Latest, id, func(v Version, id string) int { return strings.Compare(v.ProtocolID, id) })
	if !found {
		return Version{}, false
	}
	return l.Latest[i], true
}

// NewService returns a Service over store; call Refresh or Publish before serving.
func NewService(store Store, log *slog.Logger) *Service {
	return &Service{store: store, log: log, now: time.Now, old: map[versionKey]Version{}}
}

// PublishResult says what publishing one document did.
type PublishResult struct {
	ProtocolID string
	Version    int
	Created    bool // false: the content was already the latest version
}

// Publish makes each document the latest version of its protocol: a document whose content hash
// equals the latest version's creates nothing; any other creates the next version number, leaving
// earlier versions readable. Safe to run from several instances at once. It returns an error when
// the store fails.
func (s *Service) Publish(ctx context.Context, docs []Document) ([]PublishResult, error) {
	if err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	results := make([]PublishResult, 0, len(docs))
	var created []Version
	defer func() { s.install(created) }() // what was stored is served, even when a later document fails
	for _, doc := range docs {
		r, v, err := s.publish(ctx, doc)
		if err != nil {
			return results, err
		}
		results = append(results, r)
		if r.Created {
			created = append(created, v)
		}
	}
	return results, nil
}

// install makes versions (just published here) the latest of their protocols unless the snapshot
// already holds newer ones, without reloading the library from the store.
func (s *Service) install(versions []Version) {
	if len(versions) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, v := range versions { // a retired protocol stays retired, as its head in the store does
		if cur, ok := s.library.Find(v.ProtocolID); ok && cur.Retired {
			versions[i].Retired = true
		}
	}
	latest := newerOf(versions, s.library.Latest)
	if !sameVersions(s.library.Latest, latest) {
		s.library = Library{Generation: s.library.Generation + 1, Latest: latest}
	}
}

// publish stores doc as the next version of its protocol unless it is the latest already; it returns
// the version stored when it created one.
func (s *Service) publish(ctx context.Context, doc Document) (PublishResult, Version, error) {
	hash, err := doc.ContentHash()
	if err != nil {
		return PublishResult{}, Version{}, err
	}
	id := doc.Protocol.ID
	latest, ok := s.Snapshot().Find(id)
	if ok && latest.ContentHash == hash {
		return PublishResult{ProtocolID: id, Version: latest.Number}, Version{}, nil
	}
	// Try the next number; when another instance took it first (its head may not have moved yet),
	// that version either holds this very content (done) or something else (try the number after).
	for next := latest.Number + 1; next <= latest.Number+5; next++ {
		v := Version{ProtocolID: id, Number: next, ContentHash: hash, PublishedAt: s.now().UTC().Truncate(time.Millisecond), Document: doc}
		err := s.store.InsertVersion(ctx, v)
		if err == nil {
			s.log.Info("protocol version published", "protocol", id, "version", next, "content_hash", hash)
			return PublishResult{ProtocolID: id, Version: next, Created: true}, v, nil
		}
		if !errors.Is(err, ErrVersionExists) {
			return PublishResult{}, Version{}, fmt.Errorf("publishing %s version %d: %w", id, next, err)
		}
		taken, err := s.store.Version(ctx, id, next)
		if err != nil {
			return PublishResult{}, Version{}, fmt.Errorf("reading %s version %d: %w", id, next, err)
		}
		if taken.ContentHash == hash {
			s.install([]Version{taken})
			return PublishResult{ProtocolID: id, Version: next}, Version{}, nil
		}
	}
	return PublishResult{}, Version{}, fmt.Errorf("publishing %s: version numbers kept being taken", id)
}

// Refresh reloads the latest versions from the store. It returns an error when the store fails.
func (s *Service) Refresh(ctx context.Context) error {
	latest, err := s.store.LatestVersions(ctx)
	if err != nil {
		return fmt.Errorf("loading the protocol library: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	latest = newerOf(s.library.Latest, latest)
	if !sameVersions(s.library.Latest, latest) {
		s.library = Library{Generation: s.library.Generation + 1, Latest: latest}
	}
	return nil
}

// newerOf merges a freshly loaded list of latest versions into the current one, keeping for each
// protocol the newer: a refresh that read the store before a concurrent publish (another request's,
// or the periodic refresh) must not take the snapshot back to an older version. Versions only grow
// and protocols are never removed, and a retirement is never undone. The result is sorted by id.
func newerOf(cur, loaded []Version) []Version {
	byID := make(map[string]Version, len(loaded))
	for _, v := range loaded {
		byID[v.ProtocolID] = v
	}
	for _, v := range cur {
		l, ok := byID[v.ProtocolID]
		switch {
		case !ok || l.Number < v.Number:
			byID[v.ProtocolID] = v
		case l.Number == v.Number && v.Retired && !l.Retired:
			l.Retired = true
			byID[v.ProtocolID] = l
		}
	}
	out := make([]Version, 0, len(byID))
	for _, v := range byID {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b Version) int { return strings.Compare(a.ProtocolID, b.ProtocolID) })
	return out
}

func sameVersions(a, b []Version) bool {
	return slices.EqualFunc(a, b, func(x, y Version) bool {
		return x.ProtocolID == y.ProtocolID && x.Number == y.Number && x.Retired == y.Retired
	})
}

// Snapshot returns the current library. It never blocks on the store.
func (s *Service) Snapshot() Library {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.library
}

// Latest returns the latest published version of protocol id, or an apperr NotFound error.
func (s *Service) Latest(id string) (Version, error) {
	v, ok := s.Snapshot().Find(id)
	if !ok {
		return Version{}, errProtocolNotFound(id)
	}
	return v, nil
}

// Versions lists the published versions of protocol id (without documents), oldest first.
// It returns an apperr NotFound error for an unknown protocol, or the store's error.
func (s *Service) Versions(ctx context.Context, id string) ([]Version, error) {
	if _, err := s.Latest(id); err != nil {
		return nil, err
	}
	vs, err := s.store.Versions(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("listing versions of %s: %w", id, err)
	}
	return vs, nil
}

// Version returns version number of protocol id. It returns an apperr NotFound error for an unknown
// protocol or version, or the store's error.
func (s *Service) Version(ctx context.Context, id string, number int) (Version, error) {
	latest, err := s.Latest(id)
	if err != nil {
		return Version{}, err
	}
	if number == latest.Number {
		return latest, nil
	}
	if number < 1 || number > latest.Number {
		return Version{}, errVersionNotFound(id, number)
	}
	key := versionKey{id, number}
	s.mu.RLock()
	v, ok := s.old[key]
	s.mu.RUnlock()
	if ok {
		return v, nil
	}
	v, err = s.store.Version(ctx, id, number)
	if errors.Is(err, ErrNoVersion) {
		return Version{}, errVersionNotFound(id, number)
	}
	if err != nil {
		return Version{}, fmt.Errorf("reading %s version %d: %w", id, number, err)
	}
	s.mu.Lock()
	s.old[key] = v
	s.mu.Unlock()
	return v, nil
}

func errProtocolNotFound(id string) error {
	return apperr.New(apperr.NotFound, "protocol_not_found", "ErrProtocolNotFound", map[string]any{"ID": id})
}

func errVersionNotFound(id string, number int) error {
	return apperr.New(apperr.NotFound, "version_not_found", "ErrVersionNotFound", map[string]any{"ID": id, "Version": number})
}
