package txlog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/otlpgo/otlpgo/internal/txlog"
	"github.com/otlpgo/otlpgo/panics"
)

// buildLog writes a bbolt log as coordinators leave it: records created,
// saved several times, some deleted (finished), enough of them to fill
// several leaf pages under a branch, with free pages. It returns the
// file's bytes and the records it holds.
func buildLog(t testing.TB) ([]byte, []txlog.Record) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log.db")
	l, err := txlog.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want := map[string][]byte{}
	for i := range 60 {
		id := fmt.Sprintf("saga-%03d", i)
		state := func(step int) []byte {
			return fmt.Appendf(nil, `{"d":"transfer","f":"e3a9146eab93680a","i":"%s","p":"f","s":%d}`, strings.Repeat("x", 40+i), step)
		}
		if err := l.Create(ctx, id, state(0)); err != nil {
			t.Fatal(err)
		}
		for step := 1; step <= i%3; step++ {
			if err := l.Save(ctx, id, state(step)); err != nil {
				t.Fatal(err)
			}
		}
		want[id] = state(i % 3)
		if i%4 == 1 { // finished
			if err := l.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
			delete(want, id)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []txlog.Record
	for id, s := range want {
		recs = append(recs, txlog.Record{ID: id, State: s})
	}
	slices.SortFunc(recs, func(a, b txlog.Record) int { return strings.Compare(a.ID, b.ID) })
	return b, recs
}

// damage is one way to damage a log file.
type damage struct {
	name, kind string
	apply      func([]byte) []byte
}

func truncateAt(n int) damage {
	return damage{fmt.Sprintf("truncate at %d", n), "truncate", func(b []byte) []byte { return b[:n] }}
}

func flipAt(kind string, off int, mask byte, what string) damage {
	return damage{fmt.Sprintf("flip %#02x at %d (%s)", mask, off, what), kind, func(b []byte) []byte {
		b = bytes.Clone(b)
		b[off] ^= mask
		return b
	}}
}

// damages lists the matrix's cases for a file of the given bytes.
func damages(file []byte, ps int) []damage {
	n := len(file)
	ds := []damage{truncateAt(0), truncateAt(1), truncateAt(100), truncateAt(n / 2), truncateAt(n - 1)}
	for p := ps; p < n; p += ps {
		ds = append(ds, truncateAt(p-1), truncateAt(p), truncateAt(p+1))
	}
	metaFields := []struct {
		off  int
		name string
	}{{0, "page id"}, {8, "page flags"}, {16, "magic"}, {20, "version"}, {24, "page size"}, {28, "flags"},
		{32, "root pgid"}, {40, "root sequence"}, {48, "freelist pgid"}, {56, "high-water mark"},
		{64, "txid"}, {72, "checksum"}, {79, "checksum end"}, {200, "padding"}}
	for m := range 2 {
		for _, f := range metaFields {
			for _, mask := range []byte{0x01, 0xff} {
				ds = append(ds, flipAt(fmt.Sprintf("meta %d", m), m*ps+f.off, mask, f.name))
			}
		}
	}
	for p := 2; p < n/ps; p++ {
		kind := fmt.Sprintf("page %d (flags %#x)", p, file[p*ps+8])
		for _, f := range []struct {
			off  int
			name string
		}{{0, "page id"}, {8, "page flags"}, {10, "count"}, {12, "overflow"},
			{16, "element 0"}, {20, "element 0"}, {24, "element 0"}, {28, "element 0"}, {33, "element 1"}, {45, "element 1"}} {
			for _, mask := range []byte{0x01, 0xff} {
				ds = append(ds, flipAt(kind, p*ps+f.off, mask, f.name))
			}
		}
		for off := 61; off < ps; off += 211 { // keys, values, free space
			ds = append(ds, flipAt(kind, p*ps+off, 0xff, "stride"))
		}
	}
	return ds
}

// outcome opens and reads a damaged log: "typed error" (ErrCorrupt),
// "recovered" (exactly the records written), "panic", "silent" (read
// fine, but other records), or "untyped error".
func outcome(path string, want []txlog.Record) (string, error) {
	old := debug.SetPanicOnFault(true) // a fault reading the map is a panic too
	defer debug.SetPanicOnFault(old)
	var got []txlog.Record
	err := panics.Try(func() error {
		l, err := txlog.OpenBolt(path)
		if err != nil {
			return err
		}
		defer l.Close()
		got, err = l.Claim(context.Background())
		return err
	})
	var pe *panics.Error
	switch {
	case errors.As(err, &pe) && !errors.Is(err, txlog.ErrCorrupt):
		return "panic", err
	case errors.Is(err, txlog.ErrCorrupt), errors.Is(err, txlog.ErrLegacyFormat), errors.Is(err, txlog.ErrUnsupportedFormat):
		return "typed error", err
	case err != nil:
		return "untyped error", err
	}
	sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
	if slices.EqualFunc(got, want, func(a, b txlog.Record) bool { return a.ID == b.ID && bytes.Equal(a.State, b.State) }) {
		return "recovered", nil
	}
	return "silent", fmt.Errorf("read %d records, wrote %d", len(got), len(want))
}

// TestBoltDamageMatrix damages a real log every way damages lists
// (truncation at every interesting length, flipped bytes in each meta
// page's fields and in each data page's header, elements, keys and
// values) and checks that each case ends in ErrCorrupt or reads back
// exactly the records written: never a panic, never other records.
// Before the file was checked, most cases crashed the process in bbolt,
// and a 0-byte file opened as an empty log.
func TestBoltDamageMatrix(t *testing.T) {
	file, want := buildLog(t)
	ps := os.Getpagesize()
	if len(file)/ps < 6 {
		t.Fatalf("the log has %d pages: too few to damage every kind", len(file)/ps)
	}
	path := filepath.Join(t.TempDir(), "damaged.db")
	type cell struct{ kind, outcome string }
	table := map[cell]int{}
	totals := map[string]int{}
	ds := damages(file, ps)
	for _, d := range ds {
		if err := os.WriteFile(path, d.apply(file), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := outcome(path, want)
		table[cell{d.kind, out}]++
		totals[out]++
		if out != "typed error" && out != "recovered" {
			t.Errorf("%s: %s: %v", d.name, out, err)
		}
		if testing.Verbose() && out == "typed error" && d.kind == "truncate" && strings.HasSuffix(d.name, " 0") {
			t.Logf("%s: %v", d.name, err)
		}
	}
	kinds := map[string]bool{}
	for c := range table {
		kinds[c.kind] = true
	}
	outcomes := []string{"typed error", "recovered", "panic", "silent", "untyped error"}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d cases on a log of %d pages, %d records:\n%-24s", len(ds), len(file)/ps, len(want), "damage")
	for _, o := range outcomes {
		fmt.Fprintf(&sb, " %13s", o)
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range kinds {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&sb, "\n%-24s", k)
		for _, o := range outcomes {
			fmt.Fprintf(&sb, " %13d", table[cell{k, o}])
		}
	}
	fmt.Fprintf(&sb, "\n%-24s", "total")
	for _, o := range outcomes {
		fmt.Fprintf(&sb, " %13d", totals[o])
	}
	t.Log(sb.String())
}

// TestBoltRefusesEmptyFile: a 0-byte file used to open as an empty log,
// losing every unfinished transaction; now it is ErrCorrupt, and left as
// it is. Only a missing file is created.
func TestBoltRefusesEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := txlog.OpenBolt(path)
	if !errors.Is(err, txlog.ErrCorrupt) {
		if l != nil {
			l.Close()
		}
		t.Fatalf("OpenBolt of a 0-byte file: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Fatalf("the file was changed: %v, %v", fi, err)
	}
	t.Log(err)
}

// TestBoltConvertsFirstReleaseFile: a log written by the first release
// (one bucket of unframed JSON states) is refused by OpenBolt with
// ErrLegacyFormat and left as it was, byte for byte (the first release,
// rolled back to, still reads its records); ConvertBolt converts it, and
// it then opens with its records, framed; one holding something else is
// ErrCorrupt.
func TestBoltConvertsFirstReleaseFile(t *testing.T) {
	for _, tc := range []struct {
		values []string
		ok     bool
	}{{[]string{`{"p":"f"}`, `{"p":"c","s":1}`}, true}, {[]string{`{"p":"f"}`, "\xc5garbage"}, false}} {
		path := filepath.Join(t.TempDir(), "log.db")
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("otlpgo-txlog"))
			for i, v := range tc.values {
				if err == nil {
					err = b.Put(fmt.Appendf(nil, "t%d", i), []byte(v))
				}
			}
			return err
		})
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if l, err := txlog.OpenBolt(path); !errors.Is(err, txlog.ErrLegacyFormat) || errors.Is(err, txlog.ErrCorrupt) {
				if l != nil {
					l.Close()
				}
				t.Fatalf("OpenBolt of a first-release log: %v, want ErrLegacyFormat", err)
			}
			if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
				t.Fatalf("OpenBolt changed a first-release log (%v)", err)
			}
		}
		err = txlog.ConvertBolt(path)
		if !tc.ok {
			if !errors.Is(err, txlog.ErrCorrupt) {
				t.Fatalf("converting a first-release log holding %q: %v", tc.values, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := txlog.ConvertBolt(path); err != nil { // converted: left as it is
			t.Fatal(err)
		}
		for range 2 {
			l, err := txlog.OpenBolt(path)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := l.Claim(context.Background())
			if err != nil || len(recs) != 2 || string(recs[1].State) != tc.values[1] {
				t.Fatalf("Claim = %q, %v", recs, err)
			}
			if err := l.Create(context.Background(), "new", []byte("{}")); err != nil {
				t.Fatal(err)
			}
			if err := l.Delete(context.Background(), "new"); err != nil {
				t.Fatal(err)
			}
			l.Close()
		}
	}
	if err := txlog.ConvertBolt(filepath.Join(t.TempDir(), "missing.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ConvertBolt of a missing file: %v", err)
	}
}

// TestBoltDoesNotReplaceADanglingLink: a symbolic link at the path whose
// target does not exist is an error wrapping fs.ErrNotExist, and stays;
// a file at <path>.new is not someone's to delete.
func TestBoltDoesNotReplaceADanglingLink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log.db")
	if err := os.Symlink(filepath.Join(dir, "elsewhere", "log.db"), path); err != nil {
		t.Skip(err)
	}
	if l, err := txlog.OpenBolt(path); !errors.Is(err, fs.ErrNotExist) {
		if l != nil {
			l.Close()
		}
		t.Fatalf("OpenBolt through a dangling link: %v", err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v, %v", fi, err)
	}

	path = filepath.Join(dir, "other.db")
	if err := os.WriteFile(path+".new", []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := txlog.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if b, err := os.ReadFile(path + ".new"); err != nil || string(b) != "mine" {
		t.Fatalf("%s.new: %q, %v", path, b, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Fatalf("files left: %v", ents)
	}
}

// FuzzBoltFile opens arbitrary bytes (mutations of a real log) as a bbolt
// log and reads it: ErrCorrupt, or a log that reads (and takes a write),
// never a panic, in this goroutine or in bbolt's.
func FuzzBoltFile(f *testing.F) {
	path := filepath.Join(f.TempDir(), "log.db")
	l, err := txlog.OpenBolt(path)
	if err != nil {
		f.Fatal(err)
	}
	for i := range 6 {
		if err := l.Create(context.Background(), fmt.Sprint("saga-", i), []byte(`{"d":"transfer","p":"f","s":1}`)); err != nil {
			f.Fatal(err)
		}
	}
	l.Close()
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "log.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		err := panics.Try(func() error {
			l, err := txlog.OpenBolt(path)
			if err != nil {
				return err
			}
			defer l.Close()
			if _, err := l.Claim(context.Background()); err != nil {
				return err
			}
			return l.Create(context.Background(), "new", []byte("{}"))
		})
		if err != nil && !errors.Is(err, txlog.ErrCorrupt) && !errors.Is(err, txlog.ErrExists) &&
			!errors.Is(err, txlog.ErrLegacyFormat) && !errors.Is(err, txlog.ErrUnsupportedFormat) {
			t.Fatal(err)
		}
	})
}

// TestBoltRefusesANewerFormat: a file whose meta says a newer format is
// ErrUnsupportedFormat, not ErrCorrupt, and is left as it is.
func TestBoltRefusesANewerFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	l, err := txlog.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("otlpgo-txlog-meta")).Put([]byte("format"), []byte("3"))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if l, err := txlog.OpenBolt(path); !errors.Is(err, txlog.ErrUnsupportedFormat) || errors.Is(err, txlog.ErrCorrupt) {
		if l != nil {
			l.Close()
		}
		t.Fatalf("OpenBolt of a newer format: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("the file changed")
	}
}
