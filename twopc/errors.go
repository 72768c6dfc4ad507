package twopc

import "github.com/otlpgo/otlpgo/internal/txlog"

// ErrCorrupt is returned (wrapped) by OpenBoltLog and Recover when the
// log's storage is damaged: a bbolt file that is empty, truncated or
// fails its consistency checks, or a record whose checksum or format is
// wrong. The error names the page or record; the file is left as it was,
// for an operator. Match it with errors.Is.
var ErrCorrupt = txlog.ErrCorrupt
