package txlog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
)

// verifyBoltFile checks a bbolt file's bytes before bbolt reads them:
// bbolt trusts its file, and on a damaged one reads through unchecked
// page ids, counts and offsets (a panic, or a fault that kills the
// process). This walk is the same structure in bounds-checked Go: both
// meta pages valid (magic, version, checksum, page size, transaction
// parity, the high-water mark within the file), and from the newest meta
// the freelist and every bucket's pages (types, ids, element bounds, key
// order, child ranges), each page reachable once or free, never both.
// It also runs what bbolt's Tx.Check runs, which does its walk on a
// goroutine of its own, where a panic cannot be recovered. It returns
// nil or what is wrong.
//
// Both meta pages must be valid. bbolt keeps two so that a torn write of
// the newer one falls back to the older, but that cannot be told apart
// from damage to the newer one, which would silently roll the log back a
// transaction; and the 64 bytes of a meta are written in one sector, so
// a torn one is not expected.
func verifyBoltFile(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("the file is empty: a log file never is, so it was truncated or never written")
	}
	const metaOff, metaLen = pageHeaderSize, 64
	if len(b) < metaOff+metaLen {
		return fmt.Errorf("the file is %d bytes, shorter than a meta page", len(b))
	}
	m0, err := readMeta(b[metaOff:])
	if err != nil {
		return fmt.Errorf("meta page 0: %v", err)
	}
	ps := int(m0.pageSize)
	if len(b)%ps != 0 || len(b) < 4*ps {
		return fmt.Errorf("the file is %d bytes: not a whole number (at least 4) of %d-byte pages: truncated", len(b), ps)
	}
	m1, err := readMeta(b[ps+metaOff:])
	if err != nil {
		return fmt.Errorf("meta page 1: %v", err)
	}
	if m1.pageSize != m0.pageSize {
		return fmt.Errorf("meta pages disagree on the page size: %d and %d", m0.pageSize, m1.pageSize)
	}
	if m0.txid%2 != 0 || m1.txid%2 != 1 || (m0.txid != m1.txid+1 && m1.txid != m0.txid+1) {
		return fmt.Errorf("meta pages hold transactions %d and %d: not consecutive in their places", m0.txid, m1.txid)
	}
	for i := range 2 { // bbolt asserts these when it reads the page (Tx.Check does)
		if id, flags := order.Uint64(b[i*ps:]), order.Uint16(b[i*ps+8:]); id != uint64(i) || flags != metaPageFlag {
			return fmt.Errorf("meta page %d: header says page %d, type %#x", i, id, flags)
		}
	}
	npages := uint64(len(b) / ps)
	for i, m := range []meta{m0, m1} {
		switch {
		case m.pgid < 4 || m.pgid > npages:
			return fmt.Errorf("meta page %d: high-water mark %d pages, the file has %d: truncated", i, m.pgid, npages)
		case m.root < 2 || m.root >= m.pgid:
			return fmt.Errorf("meta page %d: root page %d out of range", i, m.root)
		case m.freelist < 2 || m.freelist >= m.pgid:
			return fmt.Errorf("meta page %d: freelist page %d out of range", i, m.freelist)
		}
	}
	m := m0
	if m1.txid > m0.txid {
		m = m1
	}
	w := walker{b: b, ps: ps, hwm: m.pgid, seen: map[uint64]bool{0: true, 1: true}}
	free, err := w.freelist(m.freelist)
	if err != nil {
		return err
	}
	if err := w.bucketPage(m.root, nil, nil, 0); err != nil {
		return err
	}
	for id := uint64(2); id < m.pgid; id++ {
		switch {
		case w.seen[id] && free[id]:
			return fmt.Errorf("page %d: both in use and free", id)
		case !w.seen[id] && !free[id]:
			return fmt.Errorf("page %d: neither in use nor free", id)
		}
	}
	return nil
}

// The bbolt layout (go.etcd.io/bbolt/internal/common), in the host's
// byte order as bbolt writes it.
const (
	pageHeaderSize  = 16 // id u64, flags u16, count u16, overflow u32
	elementSize     = 16 // branch: pos u32, ksize u32, pgid u64; leaf: flags u32, pos u32, ksize u32, vsize u32
	inBucketSize    = 16 // root u64, sequence u64
	branchPageFlag  = 0x01
	leafPageFlag    = 0x02
	metaPageFlag    = 0x04
	freelistFlag    = 0x10
	bucketLeafFlag  = 0x01
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	maxBucketDepth  = 64
	maxBoltPageSize = 1 << 24
)

var order = binary.NativeEndian

type meta struct {
	pageSize                   uint32
	root, freelist, pgid, txid uint64
}

func readMeta(b []byte) (meta, error) {
	magic, version := order.Uint32(b[0:]), order.Uint32(b[4:])
	switch {
	case magic != boltMagic:
		return meta{}, fmt.Errorf("not a bbolt meta (magic %#x)", magic)
	case version != boltVersion:
		return meta{}, fmt.Errorf("bbolt format version %d, want %d", version, boltVersion)
	}
	h := fnv.New64a()
	h.Write(b[:56])
	if sum := order.Uint64(b[56:]); sum != h.Sum64() {
		return meta{}, fmt.Errorf("checksum %#x, computed %#x", sum, h.Sum64())
	}
	m := meta{pageSize: order.Uint32(b[8:]), root: order.Uint64(b[16:]), freelist: order.Uint64(b[32:]),
		pgid: order.Uint64(b[40:]), txid: order.Uint64(b[48:])}
	if m.pageSize < 512 || m.pageSize > maxBoltPageSize || m.pageSize&(m.pageSize-1) != 0 {
		return meta{}, fmt.Errorf("page size %d", m.pageSize)
	}
	return m, nil
}

// walker walks the pages of one meta's tree.
type walker struct {
	b    []byte
	ps   int
	hwm  uint64
	seen map[uint64]bool // pages in use
}

// page returns the bytes of page id and its overflow pages, marking them
// in use.
func (w *walker) page(id uint64, flags uint16) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, fmt.Errorf("page %d: out of range [2, %d)", id, w.hwm)
	}
	p := w.b[int(id)*w.ps:]
	if got := order.Uint64(p); got != id {
		return nil, fmt.Errorf("page %d: header names page %d", id, got)
	}
	if f := order.Uint16(p[8:]); f != flags && !(flags == 0 && (f == branchPageFlag || f == leafPageFlag)) {
		return nil, fmt.Errorf("page %d: type %#x", id, f)
	}
	overflow := uint64(order.Uint32(p[12:]))
	if overflow >= w.hwm-id {
		return nil, fmt.Errorf("page %d: %d overflow pages past the high-water mark %d", id, overflow, w.hwm)
	}
	for i := id; i <= id+overflow; i++ {
		if w.seen[i] {
			return nil, fmt.Errorf("page %d: reached twice", i)
		}
		w.seen[i] = true
	}
	return p[:int(overflow+1)*w.ps], nil
}

func (w *walker) freelist(id uint64) (map[uint64]bool, error) {
	p, err := w.page(id, freelistFlag)
	if err != nil {
		return nil, fmt.Errorf("freelist: %v", err)
	}
	n, at := uint64(order.Uint16(p[10:])), pageHeaderSize
	if n == 0xFFFF {
		if len(p) < pageHeaderSize+8 {
			return nil, fmt.Errorf("freelist page %d: too short", id)
		}
		n, at = order.Uint64(p[pageHeaderSize:]), pageHeaderSize+8
	}
	if n > uint64(len(p)-at)/8 {
		return nil, fmt.Errorf("freelist page %d: %d ids do not fit", id, n)
	}
	free := make(map[uint64]bool, n)
	for i := range int(n) {
		f := order.Uint64(p[at+8*i:])
		if f < 2 || f >= w.hwm || free[f] {
			return nil, fmt.Errorf("freelist page %d: free page %d out of range or repeated", id, f)
		}
		free[f] = true
	}
	return free, nil
}

// bucketPage checks the page tree of a bucket from page id, whose keys
// must lie in [lo, hi) (nil: unbounded).
func (w *walker) bucketPage(id uint64, lo, hi []byte, depth int) error {
	if depth > maxBucketDepth {
		return fmt.Errorf("page %d: nested deeper than %d", id, maxBucketDepth)
	}
	p, err := w.page(id, 0)
	if err != nil {
		return err
	}
	return w.elements(fmt.Sprint("page ", id), p, lo, hi, depth, false)
}

// elements checks the elements of a branch or leaf page p (or an inline
// bucket's page, which is a leaf of no sub-buckets).
func (w *walker) elements(name string, p []byte, lo, hi []byte, depth int, inline bool) error {
	if len(p) < pageHeaderSize {
		return fmt.Errorf("%s: shorter than a page header", name)
	}
	flags, n := order.Uint16(p[8:]), int(order.Uint16(p[10:]))
	if inline && flags != leafPageFlag {
		return fmt.Errorf("%s: inline bucket of type %#x", name, flags)
	}
	if pageHeaderSize+n*elementSize > len(p) {
		return fmt.Errorf("%s: %d elements do not fit", name, n)
	}
	if flags == branchPageFlag && n == 0 {
		return fmt.Errorf("%s: empty branch", name)
	}
	var prev []byte
	for i := range n {
		at := pageHeaderSize + i*elementSize
		e := p[at : at+elementSize]
		var pos, ksize, vsize uint64
		if flags == branchPageFlag {
			pos, ksize = uint64(order.Uint32(e[0:])), uint64(order.Uint32(e[4:]))
		} else {
			pos, ksize, vsize = uint64(order.Uint32(e[4:])), uint64(order.Uint32(e[8:])), uint64(order.Uint32(e[12:]))
		}
		start := uint64(at) + pos
		if start < uint64(pageHeaderSize+n*elementSize) || start+ksize+vsize > uint64(len(p)) {
			return fmt.Errorf("%s: element %d out of the page", name, i)
		}
		key, val := p[start:start+ksize], p[start+ksize:start+ksize+vsize]
		if ksize == 0 {
			return fmt.Errorf("%s: element %d: empty key", name, i)
		}
		if (i > 0 && bytes.Compare(prev, key) >= 0) || (lo != nil && bytes.Compare(key, lo) < 0) || (hi != nil && bytes.Compare(key, hi) >= 0) {
			return fmt.Errorf("%s: element %d: key %q out of order", name, i, key)
		}
		prev = key
		if flags == branchPageFlag {
			next := hi
			if i+1 < n {
				ne := p[at+elementSize:]
				npos, nk := uint64(order.Uint32(ne[0:])), uint64(order.Uint32(ne[4:]))
				if s := uint64(at+elementSize) + npos; s >= uint64(pageHeaderSize+n*elementSize) && s+nk <= uint64(len(p)) {
					next = p[s : s+nk]
				} else {
					return fmt.Errorf("%s: element %d out of the page", name, i+1)
				}
			}
			if err := w.bucketPage(order.Uint64(e[8:]), key, next, depth+1); err != nil {
				return err
			}
			continue
		}
		switch order.Uint32(e[0:]) {
		case 0:
		case bucketLeafFlag:
			if inline {
				return fmt.Errorf("%s: element %d: a bucket in an inline bucket", name, i)
			}
			if err := w.bucket(fmt.Sprintf("%s bucket %q", name, key), val, depth); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: element %d: flags %#x", name, i, order.Uint32(e[0:]))
		}
	}
	return nil
}

// bucket checks a bucket from its header (an element's value).
func (w *walker) bucket(name string, v []byte, depth int) error {
	if len(v) < inBucketSize {
		return fmt.Errorf("%s: header of %d bytes", name, len(v))
	}
	if root := order.Uint64(v); root != 0 {
		if len(v) != inBucketSize {
			return fmt.Errorf("%s: %d bytes after its header", name, len(v)-inBucketSize)
		}
		return w.bucketPage(root, nil, nil, depth+1)
	}
	return w.elements(name+" (inline)", v[inBucketSize:], nil, nil, depth+1, true)
}
