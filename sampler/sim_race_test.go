//go:build race

package sampler_test

// simScale scales the heaviest simulations' rates and budgets (their
// probabilities stay the same) so that the package's tests stay fast under
// the race detector, which makes each span about 6x dearer (measured: ~6 µs a span against ~0.5 µs). Shapes whose
// assertions need a number of sampled spans (error boost, fairness,
// followed spans) are not scaled.
const simScale = 0.25
