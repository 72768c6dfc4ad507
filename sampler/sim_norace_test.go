//go:build !race

package sampler_test

// simScale scales the heaviest simulations' rates and budgets; see
// sim_race_test.go.
const simScale = 1.0
