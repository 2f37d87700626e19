// Package report computes the period statistics an agency gives its funders and supervisors, for
// one organisation and a period of days: children served by age band, gender and case type; the
// time from first contact to the forensic interview and to the medical examination (median, 90th
// percentile) and how many cases met each time standard; interviews per child; the open-prompt share
// per month; evidence items and integrity failures; and referrals sent and received (from the
// referrals of another package, through the ReferralSource seam: absent until it is wired).
//
// Reports are aggregates only. Every count below MinCount is suppressed (shown as "<5"), and a
// figure computed from fewer than MinCount values (a median, a share) is left out, so that no report
// can identify a child. Only supervisors and auditors of the organisation read them.
//
// Definitions:
//   - a child is served in the period when their case was open on any day of it (opened before its
//     end, and not closed before its start);
//   - times run from the case's opening (first contact) to the first appointment of the kind marked
//     done; the median of an even number of values is the mean of the middle two, the 90th
//     percentile is the nearest rank (the value at rank ceil(0.9 n));
//   - a time standard is considered for a served case when it applies to it (see package
//     appointment) and its measure is met, late or overdue; the share within is met over considered;
//   - interviews are the sessions of served cases; interviews per child is sessions over the
//     children with at least one;
//   - the open-prompt share of a month is the open prompts over all prompts of the sessions submitted
//     that month (the quality kept at their last submission);
//   - evidence items are those logged in the period, integrity failures those of them whose hash
//     verification failed.
//
// Errors for clients: identity.ErrForbidden for roles other than supervisor and auditor, an Invalid
// *apperr.Error for a bad period.
package report
