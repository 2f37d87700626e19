package authoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// A draft's review: submitted, approved or returned, and published as the protocol's next version.

// Submit sends a draft being edited for review. Errors as for SaveSource (draft_status when it is
// not being edited); an *apperr.Error Invalid with field errors when it no longer validates.
func (s *Service) Submit(ctx context.Context, p identity.Principal, id string, version int64, comment string) (Draft, error) {
	if err := checkComment(comment, false); err != nil {
		return Draft{}, err
	}
	return s.update(ctx, p, id, version, ActionDraftSubmit, func(d *Draft) error {
		if d.Status != StatusEditing {
			return errWrongStatus(*d, StatusEditing)
		}
		d.Status = StatusInReview
		d.Review = append(d.Review, ReviewEntry{Action: ReviewSubmitted, By: p.UserID, At: s.clock(), Comment: comment})
		return nil
	})
}

// Approve approves a draft in review. The approver must be another content editor than every author
// of the draft: an *apperr.Error Forbidden (own_draft) otherwise. Other errors as for SaveSource
// (draft_status when it is not in review).
func (s *Service) Approve(ctx context.Context, p identity.Principal, id string, version int64, comment string) (Draft, error) {
	if err := checkComment(comment, false); err != nil {
		return Draft{}, err
	}
	return s.update(ctx, p, id, version, ActionDraftApprove, func(d *Draft) error {
		if d.Status != StatusInReview {
			return errWrongStatus(*d, StatusInReview)
		}
		if slices.Contains(d.Authors, p.UserID) {
			return errOwnReview()
		}
		d.Status = StatusApproved
		d.Review = append(d.Review, ReviewEntry{Action: ReviewApproved, By: p.UserID, At: s.clock(), Comment: comment})
		return nil
	})
}

// Return sends a draft in review (or approved and not yet published) back to editing with a
// comment (required). The reviewer must not be an author (own_draft). Other errors as for Approve.
func (s *Service) Return(ctx context.Context, p identity.Principal, id string, version int64, comment string) (Draft, error) {
	if err := checkComment(comment, true); err != nil {
		return Draft{}, err
	}
	return s.update(ctx, p, id, version, ActionDraftReturn, func(d *Draft) error {
		if d.Status != StatusInReview && d.Status != StatusApproved {
			return errWrongStatus(*d, StatusInReview)
		}
		if slices.Contains(d.Authors, p.UserID) {
			return errOwnReview()
		}
		d.Status = StatusEditing
		d.Review = append(d.Review, ReviewEntry{Action: ReviewReturned, By: p.UserID, At: s.clock(), Comment: comment})
		return nil
	})
}

// PublishResult is what publishing a draft did.
type PublishResult struct {
	Draft   Draft
	Version int  // the published version number (what runs pin)
	Created bool // false: the content equals the latest version, which stays the latest
}

// Publish publishes an approved draft through the protocol library: it becomes the next immutable
// version of its protocol, served to caseworkers on their next sync, while runs keep the version
// they started with. The draft must still be based on the latest version (Conflict draft_outdated
// otherwise), validate without errors, and be completely and currently translated into every
// required locale (Invalid translations_incomplete). Other errors as for SaveSource (draft_status
// when not approved), or the library's error.
func (s *Service) Publish(ctx context.Context, p identity.Principal, id string, version int64) (PublishResult, error) {
	var res PublishResult
	d, err := s.update(ctx, p, id, version, ActionDraftPublish, func(d *Draft) error {
		if d.Status != StatusApproved {
			return errWrongStatus(*d, StatusApproved)
		}
		if _, err := s.store.Retirement(ctx, d.ProtocolID); err == nil {
			return errRetired(d.ProtocolID)
		} else if !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("reading the retirement of %s: %w", d.ProtocolID, err)
		}
		latest := 0
		if v, err := s.library.Latest(d.ProtocolID); err == nil {
			latest = v.Number
		} else if apperr.KindOf(err) != apperr.NotFound {
			return err
		}
		doc := d.Document()
		if latest != d.BaseVersion {
			// A retried publish whose first attempt published but could not store the draft finds its
			// very content as the latest version: it completes without publishing again.
			hash, err := doc.ContentHash()
			if err != nil {
				return err
			}
			v, err := s.library.Latest(d.ProtocolID)
			if err != nil || v.ContentHash != hash || latest < d.BaseVersion {
				return errDraftOutdated(d.BaseVersion, latest)
			}
			res.Version = v.Number
		} else {
			raw, err := json.Marshal(d.Protocol)
			if err != nil {
				return fmt.Errorf("encoding draft %s: %w", d.ID, err)
			}
			if _, err := s.checkSource(d.ProtocolID, raw); err != nil {
				return err
			}
			var incomplete []string
			for _, l := range s.required {
				if !s.LocaleStatus(d, l).Complete() {
					incomplete = append(incomplete, l)
				}
			}
			if len(incomplete) > 0 {
				return errIncomplete(strings.Join(incomplete, ", "))
			}
			results, err := s.library.Publish(ctx, []protocol.Document{doc})
			if err != nil {
				return fmt.Errorf("publishing draft %s: %w", d.ID, err)
			}
			res.Version, res.Created = results[0].Version, results[0].Created
		}
		d.Status, d.PublishedVersion = StatusPublished, res.Version
		d.Review = append(d.Review, ReviewEntry{Action: ReviewPublished, By: p.UserID, At: s.clock()})
		return nil
	})
	if err != nil {
		return PublishResult{}, err
	}
	res.Draft = d
	return res, nil
}
