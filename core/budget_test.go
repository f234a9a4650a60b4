package session_test

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
)

// What one Decode of n bytes may allocate: at most c·n + budgetK bytes.
//
// BinaryCodec's worst shape is one a legitimate encoder writes: maps of one
// entry nested in each other, 3 bytes each (tag, count, empty key) that
// decode to a Go map of 336 bytes (its header and one 8-slot group on Go
// 1.26), about 112 bytes per input byte. No count-checking can lower that
// while every stored record stays readable. JSONCodec's worst is the same
// shape in JSON, 5 bytes ({"":}) per map, about 67. Lists of nils, the
// worst shape without maps, cost 16 bytes (one interface slot) per byte.
const (
	binaryBudgetC = 120
	jsonBudgetC   = 72
	budgetK       = 4 << 10
)

// Value tags of the binary format (see codec.go), for building records by
// hand.
const (
	tagList   = 18
	tagMap    = 19
	tagGob    = 22
	tagCustom = 23
)

// decodeBudget returns what decoding n bytes may allocate.
func decodeBudget(c, n int) uint64 { return uint64(c*n + budgetK) }

// measureDecode decodes data into r and returns the bytes that allocated.
// Other goroutines of the test binary allocate too, so a figure over the
// budget is measured twice more and the smallest kept.
func measureDecode(c session.Codec, data []byte, r *session.Record, budget uint64) (uint64, error) {
	var err error
	once := func() uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err = c.Decode(data, r)
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	best := once()
	for i := 0; i < 2 && best > budget; i++ {
		best = min(best, once())
	}
	return best, err
}

// v2Header returns the start of a version 2 record: magic, version, two
// times, no flags, and empty owner, user agent and client IP.
func v2Header() []byte {
	return append([]byte("SK\x02"+strings.Repeat("\x00", 16)), 0, 0, 0, 0)
}

// oneValue returns a version 2 record holding value (already encoded)
// under key, and no flashes.
func oneValue(key string, value []byte) []byte {
	b := append(v2Header(), 1)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = append(b, value...)
	return append(b, 0)
}

// gobBomb is the encoding/gob stream older versions stored for a value of
// a registered type struct{ M map[string]int } (registered as "P"), with
// the map's count raised from 1 to 2^32: 76 bytes. encoding/gob sizes the
// map from that count, and the process dies with "fatal error: out of
// memory", which no recover catches.
var gobBomb, _ = hex.DecodeString(
	"1d100001507f03010105507265667301ff8000010101014d01ff820000001eff810401010e6d61705b737472696e675d696e74" + // type definitions
		"01ff8200010c01040000" +
		"0eff800b01" + "fb0100000000" + "01610200") // the value: the count 2^32, then "a": 1

// gobRecord is a version 2 record holding gobBomb as a value.
func gobRecord() []byte {
	v := binary.AppendUvarint([]byte{tagGob}, uint64(len(gobBomb)))
	return oneValue("prefs", append(v, gobBomb...))
}

// nestedCounts returns a record of about size bytes whose value nests 33
// containers (lists, or maps under the key ""), each claiming as many
// elements as there are bytes left, over zero padding (nils, or entries
// "": nil). A decoder that sizes each container from its count allocates
// per level what the whole input could hold.
func nestedCounts(size int, maps bool) []byte {
	b := append(v2Header(), 1, 0) // one value, key ""
	for range 33 {
		if maps {
			b = append(b, tagMap)
		} else {
			b = append(b, tagList)
		}
		b = binary.AppendUvarint(b, uint64(size-len(b)-8))
		if maps {
			b = append(b, 0) // the key "" of the first entry
		}
	}
	return append(b, make([]byte, size-len(b))...)
}

// nestedMaps returns maps of one entry nested depth deep, the costliest
// legitimate shape per stored byte.
func nestedMaps(depth int) any {
	var v any
	for range depth {
		v = map[string]any{"": v}
	}
	return v
}

// budgetType is a registered custom type holding a map and a slice.
type budgetType struct {
	Name   string
	Tags   []string
	Counts map[string]int
}

// prefs is the type gobBomb was made for, registered as an application
// would (older versions required gob.RegisterName("P", prefs{})): the
// attack needs a registered type that holds a map.
type prefs struct{ M map[string]int }

func init() {
	session.Register[budgetType]("budget")
	session.Register[prefs]("P")
}

const childEnv = "SESSIONKIT_DECODE_CHILD"

// TestCorruptCustomValueCannotExhaustMemory decodes a record holding the
// gob stream above. The decode runs in a child process with an allocation
// watchdog, because the failure it guards against kills the process (or,
// without a memory limit, the machine's memory) rather than failing.
func TestCorruptCustomValueCannotExhaustMemory(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		decodeUnderWatchdog(gobRecord(), 256<<20)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCorruptCustomValueCannotExhaustMemory$", "-test.count=1", "-test.v", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the decoding child process failed:\n%s", out)
	assert.Contains(t, string(out), "decode error: ")
	assert.Contains(t, string(out), "gob")
}

// decodeUnderWatchdog decodes data with BinaryCodec and prints the error;
// it exits with status 3 as soon as the process has allocated limit bytes.
func decodeUnderWatchdog(data []byte, limit uint64) {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(sample)
	start := sample[0].Value.Uint64()
	go func() {
		s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
		for {
			time.Sleep(time.Millisecond)
			metrics.Read(s)
			if s[0].Value.Uint64()-start > limit {
				fmt.Printf("decoding a %d-byte record allocated over %d bytes\n", len(data), limit)
				os.Exit(3)
			}
		}
	}()
	var r session.Record
	err := session.BinaryCodec{}.Decode(data, &r)
	fmt.Printf("decode error: %v\n", err)
}

// TestNestedCountsCannotAmplifyAllocation decodes 1 MiB records whose
// nested lists or maps each claim the whole input's worth of elements.
func TestNestedCountsCannotAmplifyAllocation(t *testing.T) {
	for _, maps := range []bool{false, true} {
		data := nestedCounts(1<<20, maps)
		budget := decodeBudget(binaryBudgetC, len(data))
		var r session.Record
		alloc, err := measureDecode(session.BinaryCodec{}, data, &r, budget)
		require.Error(t, err, "maps=%v", maps)
		t.Logf("maps=%v: a %d-byte record allocated %d bytes before failing: %v", maps, len(data), alloc, err)
		assert.LessOrEqual(t, alloc, budget, "maps=%v", maps)
	}
}

// TestDecodeAllocationStaysWithinStatedBound decodes the costliest shapes
// a legitimate encoder writes, for both codecs: they must decode, and
// within the bound the docs state.
func TestDecodeAllocationStaysWithinStatedBound(t *testing.T) {
	many := func(n int, v func() any) []any {
		l := make([]any, n)
		for i := range l {
			l[i] = v()
		}
		return l
	}
	shapes := map[string]any{
		"nested one-entry maps": many(300, func() any { return nestedMaps(31) }),
		"one-entry maps":        many(10000, func() any { return map[string]any{"": nil} }),
		"nils":                  many(100000, func() any { return nil }),
		"empty lists":           many(100000, func() any { return []any{} }),
		"one-char strings":      many(100000, func() any { return "a" }),
		"registered structs":    many(10000, func() any { return budgetType{} }),
	}
	for _, codec := range []struct {
		session.Codec
		c int
	}{{session.BinaryCodec{}, binaryBudgetC}, {session.JSONCodec{}, jsonBudgetC}} {
		for name, v := range shapes {
			data, err := codec.Encode(nil, &session.Record{Values: map[string]any{"v": v}})
			require.NoError(t, err)
			budget := decodeBudget(codec.c, len(data))
			var r session.Record
			alloc, err := measureDecode(codec, data, &r, budget)
			require.NoError(t, err, "%T %s", codec.Codec, name)
			t.Logf("%T %s: %d bytes allocated %d (%.1f per byte)", codec.Codec, name, len(data), alloc, float64(alloc)/float64(len(data)))
			assert.LessOrEqual(t, alloc, budget, "%T %s", codec.Codec, name)
		}
	}
}
