package session_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
)

type customType struct {
	Name string
	Tags []string
}

func init() { session.Register[customType]("customType") }

type unregistered struct{ X int }

func sampleRecord() *session.Record {
	ts := time.Date(2026, 2, 3, 4, 5, 6, 7, time.FixedZone("X", 3600))
	return &session.Record{
		Created:  time.Unix(0, 1_700_000_000_000_000_001),
		Accessed: time.Unix(0, 1_700_000_000_500_000_000),
		Values: map[string]any{
			"nil": nil, "s": "héllo", "empty": "", "t": true, "f": false,
			"i": -12345, "i64": int64(math.MinInt64), "i32": int32(-7), "i16": int16(300), "i8": int8(-8),
			"u": uint(7), "u64": uint64(math.MaxUint64), "u32": uint32(1 << 31), "u16": uint16(65535), "u8": uint8(255),
			"f64": 3.25, "f32": float32(1.5), "bytes": []byte{0, 1, 255}, "time": ts, "dur": 90 * time.Second,
			"strs": []string{"a", "", "c"}, "list": []any{"x", 1, []any{true}}, "map": map[string]any{"k": "v", "n": 2},
			"custom": customType{Name: "c", Tags: []string{"t"}},
		},
	}
}

func TestBinaryCodecRoundTrip(t *testing.T) {
	in := sampleRecord()
	var c session.BinaryCodec
	data, err := c.Encode(nil, in)
	require.NoError(t, err)
	var out session.Record
	require.NoError(t, c.Decode(data, &out))
	assert.True(t, in.Created.Equal(out.Created))
	assert.True(t, in.Accessed.Equal(out.Accessed))
	require.Len(t, out.Values, len(in.Values))
	for k, v := range in.Values {
		if tv, ok := v.(time.Time); ok {
			assert.True(t, tv.Equal(out.Values[k].(time.Time)), k)
			continue
		}
		assert.Equal(t, v, out.Values[k], k)
	}
	// Decoded values do not alias the input.
	data[len(data)-1] ^= 0xff
	assert.Equal(t, "héllo", out.Values["s"])
}

func TestBinaryCodecErrors(t *testing.T) {
	var c session.BinaryCodec
	_, err := c.Encode(nil, &session.Record{Values: map[string]any{"u": unregistered{1}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "session.Register")

	deep := any("leaf")
	for range 40 {
		deep = []any{deep}
	}
	_, err = c.Encode(nil, &session.Record{Values: map[string]any{"deep": deep}})
	require.Error(t, err)

	good, err := c.Encode(nil, sampleRecord())
	require.NoError(t, err)
	for name, data := range map[string][]byte{
		"empty":       nil,
		"magic":       []byte("XX\x01"),
		"version":     []byte("SK\x09"),
		"header only": []byte("SK\x01"),
		"trailing":    append(append([]byte{}, good...), 0),
		"huge count":  append([]byte("SK\x01"+strings.Repeat("\x00", 16)), 0xff, 0xff, 0xff, 0xff, 0x0f),
		"bad tag":     append([]byte("SK\x01"+strings.Repeat("\x00", 16)), 1, 1, 'k', 200),
		"varint":      append([]byte("SK\x01"+strings.Repeat("\x00", 16)), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
	} {
		var r session.Record
		assert.Error(t, c.Decode(data, &r), name)
	}
	for i := range good {
		var r session.Record
		assert.Error(t, c.Decode(good[:i], &r), "truncated at %d", i)
	}
}

func TestJSONCodec(t *testing.T) {
	var c session.JSONCodec
	in := &session.Record{Created: time.Unix(100, 0).UTC(), Accessed: time.Unix(200, 0).UTC(),
		Values: map[string]any{"s": "x", "n": 2, "b": true}}
	data, err := c.Encode([]byte("prefix"), in)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(data), "prefix{"))
	var out session.Record
	require.NoError(t, c.Decode(data[len("prefix"):], &out))
	assert.Equal(t, map[string]any{"s": "x", "n": float64(2), "b": true}, out.Values)
	assert.True(t, in.Created.Equal(out.Created))
	require.NoError(t, c.Decode([]byte(`{"created":"2026-01-01T00:00:00Z"}`), &out))
	assert.NotNil(t, out.Values)
	assert.Error(t, c.Decode([]byte("{"), &out))
	_, err = c.Encode(nil, &session.Record{Values: map[string]any{"c": make(chan int)}})
	assert.Error(t, err)
}
