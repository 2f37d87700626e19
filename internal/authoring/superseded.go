package authoring

import (
	"context"
	"fmt"
	"slices"

	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// draftScanPage is how many drafts WithoutSuperseded reads at a time.
const draftScanPage = 200

// VersionSource lists a protocol's published versions, oldest first (protocol.Store does).
type VersionSource interface {
	Versions(ctx context.Context, protocolID string) ([]protocol.Version, error)
}

// WithoutSuperseded drops from a library folder's documents those an editor has superseded through
// the API: the protocol's latest version was published from a draft, and the folder holds the
// content of an earlier version (the folder was not updated since). Publishing them at start would
// bring the old content back as a newer version. A folder with new content is kept. It returns the
// documents to publish and the ids of those dropped, or the stores' errors.
func WithoutSuperseded(ctx context.Context, drafts Store, versions VersionSource, docs []protocol.Document) (kept []protocol.Document, dropped []string, err error) {
	kept = make([]protocol.Document, 0, len(docs))
	for _, doc := range docs {
		skip, err := superseded(ctx, drafts, versions, doc)
		if err != nil {
			return nil, nil, fmt.Errorf("checking the files of %s against the published versions: %w", doc.Protocol.ID, err)
		}
		if skip {
			dropped = append(dropped, doc.Protocol.ID)
			continue
		}
		kept = append(kept, doc)
	}
	return kept, dropped, nil
}

func superseded(ctx context.Context, drafts Store, versions VersionSource, doc protocol.Document) (bool, error) {
	vs, err := versions.Versions(ctx, doc.Protocol.ID)
	if err != nil || len(vs) < 2 {
		return false, err
	}
	hash, err := doc.ContentHash()
	if err != nil {
		return false, err
	}
	latest := vs[len(vs)-1]
	earlier := slices.ContainsFunc(vs[:len(vs)-1], func(v protocol.Version) bool { return v.ContentHash == hash })
	if latest.ContentHash == hash || !earlier {
		return false, nil
	}
	after := ""
	for {
		ds, err := drafts.ListDrafts(ctx, doc.Protocol.ID, after, draftScanPage)
		if err != nil {
			return false, err
		}
		for _, d := range ds {
			if d.Status == StatusPublished && d.PublishedVersion == latest.Number {
				return true, nil
			}
		}
		if len(ds) < draftScanPage {
			return false, nil
		}
		after = ds[len(ds)-1].ID
	}
}
