// Package devicesync lets caseworker devices work offline: a device pulls every record its user may
// see that changed after its cursor (a first pull is a full snapshot), with removals for records the
// user lost access to, and pushes the operations it made offline (create, update at a base version,
// append), each with a client operation id, getting one result per operation.
//
// The package is the sync engine only; the records come from feeds, one per record type:
//
//   - a Feed lists the records of an organisation whose change sequence number (the change_seq
//     every synced document carries, from mongodb.DB.BeginChange) is in a range, in that order;
//   - the CaseFeed is the one feed that also decides visibility: who may see which case. Every
//     other feed is case-scoped: its records are visible exactly when their case is (and a feed
//     may narrow that further by implementing Narrower);
//   - an Applier handles the push operations of one Kind (a record type and an action, with the
//     type P its body decodes into): made by Handle from a Handler[P], whose Check and Apply get
//     the operation with its payload typed (Op[P]). The HTTP layer decodes each operation's body
//     once into its kind's Payload (Kind.Data, Kind.Changes).
//
// Adding a record type is a registration: Service.Register(Registration{Feed: ..., Appliers: ...}),
// as interview sessions (InterviewAppliers), evidence items (EvidenceItemAppliers) and custody
// events (CustodyEventAppliers) are added. See the README section "Offline sync".
//
// Errors for clients are *apperr.Error values: Invalid with field errors (a bad cursor, limit or
// operation), Forbidden (identity.ErrForbidden for roles without case data), Unavailable when the
// database fails.
package devicesync
