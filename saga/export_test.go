package saga

// IdempotencyKey is idempotencyKey, for the tests' expectations.
var IdempotencyKey = idempotencyKey
