// Package referral sends a case's child from one organisation to another for a service (a medical
// examination, therapy, a child protection assessment, ...), and transfers whole cases. The sender
// names the receiving organisation from the directory, the service, the urgency and the parts of the
// case it shares; sharing any part needs a current consent or legal basis (package consent) covering
// that organisation and those parts. The receiving organisation's supervisors accept or decline from
// their inbox; on acceptance the receiver gets a case of its own (id derived from the referral's, so
// a retried acceptance creates nothing twice) holding only the shared parts, encrypted as every case,
// and linked to the referral by ids only. The sender follows status and outcome, never the
// receiver's own notes. Both organisations' audit logs record every step; any other organisation gets
// 404. A transfer is a referral of the whole case: on acceptance the sender's case is closed and
// stays as a read-only record.
package referral
