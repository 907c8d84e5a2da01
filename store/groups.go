package store

import "github.com/sluicehq/sluice/internal/signature"

// ErrorSignature is the signature of the failure group an entry dead-lettered with this
// error joins: what the stores write into job_dlq.error_signature (see internal/signature).
func ErrorSignature(errText string) string { return signature.Of(errText) }

// FillNormalized sets g.Normalized from its sample error, unless g is the "unknown" group,
// whose entries need not share their text.
func FillNormalized(g *FailureGroup) {
	if g.Signature != signature.Unknown {
		g.Normalized = signature.Normalize(g.SampleError)
	}
}
