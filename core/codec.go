package session

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"time"
	"unsafe"
)

// Record is a session as a Codec sees it: its values and flashes, the
// times the core needs to enforce lifetimes, and what the core keeps about
// the session itself. A Codec must round-trip every field.
type Record struct {
	Created  time.Time      // when the session was first stored
	Accessed time.Time      // when it was last written (its "last seen")
	Values   map[string]any // the handler's values
	Flashes  []any          // flash messages not yet read, oldest first

	// Persist overrides the Manager's cookie persistence for this session
	// (remember-me): PersistDefault follows WithPersistentCookie,
	// PersistOn gives the cookie a Max-Age, PersistOff makes it a
	// browser-session cookie.
	Persist Persist

	// Owner names the user the session belongs to ("" for none); with
	// UserAgent and ClientIP, recorded when the owner was set, it lets a
	// user list and revoke their sessions.
	Owner     string
	UserAgent string
	ClientIP  string

	// MovedTo, when not empty, makes the record a marker left behind by
	// Regenerate or Rotate: it holds no session data, and the session now
	// lives under the store key MovedTo. GraceUntil is the end of the
	// window in which the old ID keeps resolving to the moved session
	// (Rotate); it is zero after Regenerate, whose old ID never resolves.
	MovedTo    string
	GraceUntil time.Time
}

// Persist is a session's cookie persistence; see Record.Persist.
type Persist int8

// Cookie persistence of a session.
const (
	PersistDefault Persist = 0  // as the Manager's WithPersistentCookie says
	PersistOn      Persist = 1  // a cookie with Max-Age: remember me
	PersistOff     Persist = -1 // a browser-session cookie
)

// Codec turns Records into bytes for a Store and back.
type Codec interface {
	// Encode appends the encoding of r to dst and returns the result.
	Encode(dst []byte, r *Record) ([]byte, error)
	// Decode fills r from data. It must not keep data, and it must return
	// an error, never panic, on input it did not produce.
	Decode(data []byte, r *Record) error
}

// BinaryCodec is the default Codec: a compact tagged binary format that
// round-trips the common value types without reflection.
//
// Encoded natively: nil, string, bool, every int and uint size, float32,
// float64, []byte, []string, time.Time, time.Duration, and []any and
// map[string]any holding those. A value of another type is stored as its
// JSON under the name its type was given with Register; storing a type
// that was not registered is an error (Session.Set returns it).
//
// Decode treats its input as hostile: a corrupt record is an error, never
// a panic, and decoding n bytes allocates at most 120·n bytes plus a few
// KiB. A count in the input sizes a list or map only if the rest of the
// input can hold that many elements, a byte at least each, beyond the
// bytes already promised to enclosing containers; registered types go
// through encoding/json, which has no counts to trust. The factor 120 is
// the costliest shape a legitimate encoder writes: maps of one entry
// nested in each other, 3 stored bytes for a Go map of 336 (about 112 per
// byte on Go 1.26). Flat records cost about 10 to 20 per byte. A
// registered type with large element types can cost more (see Register).
// Values older versions stored with encoding/gob are refused, not
// decoded: encoding/gob trusts counts in its input.
type BinaryCodec struct{}

const binMagic0, binMagic1, binVersion = 'S', 'K', 2

// Value tags of the binary format. Never renumber: stored records use them.
const (
	tagNil byte = iota
	tagString
	tagFalse
	tagTrue
	tagInt
	tagInt64
	tagInt32
	tagInt16
	tagInt8
	tagUint
	tagUint64
	tagUint32
	tagUint16
	tagUint8
	tagFloat64
	tagFloat32
	tagBytes
	tagTime
	tagList
	tagMap
	tagStrings
	tagDuration
	tagGob    // encoding/gob, written before Register existed; refused
	tagCustom // a type given to Register: its name, then its JSON
)

// maxDepth bounds nesting of lists and maps so hostile data cannot exhaust
// the stack.
const maxDepth = 32

// Record flags of the binary format.
const (
	flagMarker     = 1 << 0 // MovedTo and GraceUntil follow
	flagPersistOn  = 1 << 1
	flagPersistOff = 1 << 2
)

// Encode implements Codec. The layout (version 2): "SK", 2, Created and
// Accessed as big-endian Unix nanoseconds, a flags byte, then MovedTo and
// GraceUntil if the flags say it is a marker, then Owner, UserAgent and
// ClientIP, the values as a count and key/value pairs, and the flashes as
// a count and values. Strings and counts are uvarint-prefixed.
func (BinaryCodec) Encode(dst []byte, r *Record) ([]byte, error) {
	dst = append(dst, binMagic0, binMagic1, binVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.Created.UnixNano()))
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.Accessed.UnixNano()))
	var flags byte
	if r.MovedTo != "" {
		flags |= flagMarker
	}
	switch r.Persist {
	case PersistOn:
		flags |= flagPersistOn
	case PersistOff:
		flags |= flagPersistOff
	}
	dst = append(dst, flags)
	if flags&flagMarker != 0 {
		dst = appendString(dst, r.MovedTo)
		var grace int64
		if !r.GraceUntil.IsZero() {
			grace = r.GraceUntil.UnixNano()
		}
		dst = binary.BigEndian.AppendUint64(dst, uint64(grace))
	}
	dst = appendString(dst, r.Owner)
	dst = appendString(dst, r.UserAgent)
	dst = appendString(dst, r.ClientIP)
	dst = binary.AppendUvarint(dst, uint64(len(r.Values)))
	var err error
	for k, v := range r.Values {
		dst = appendString(dst, k)
		if dst, err = appendValue(dst, v, 0); err != nil {
			return nil, fmt.Errorf("session: encoding value %q: %w", k, err)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(r.Flashes)))
	for _, v := range r.Flashes {
		if dst, err = appendValue(dst, v, 0); err != nil {
			return nil, fmt.Errorf("session: encoding a flash: %w", err)
		}
	}
	return dst, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errors.New("nesting too deep")
	}
	switch v := v.(type) {
	case nil:
		return append(dst, tagNil), nil
	case string:
		return appendString(append(dst, tagString), v), nil
	case bool:
		if v {
			return append(dst, tagTrue), nil
		}
		return append(dst, tagFalse), nil
	case int:
		return binary.AppendVarint(append(dst, tagInt), int64(v)), nil
	case int64:
		return binary.AppendVarint(append(dst, tagInt64), v), nil
	case int32:
		return binary.AppendVarint(append(dst, tagInt32), int64(v)), nil
	case int16:
		return binary.AppendVarint(append(dst, tagInt16), int64(v)), nil
	case int8:
		return binary.AppendVarint(append(dst, tagInt8), int64(v)), nil
	case uint:
		return binary.AppendUvarint(append(dst, tagUint), uint64(v)), nil
	case uint64:
		return binary.AppendUvarint(append(dst, tagUint64), v), nil
	case uint32:
		return binary.AppendUvarint(append(dst, tagUint32), uint64(v)), nil
	case uint16:
		return binary.AppendUvarint(append(dst, tagUint16), uint64(v)), nil
	case uint8:
		return append(dst, tagUint8, v), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(dst, tagFloat64), math.Float64bits(v)), nil
	case float32:
		return binary.BigEndian.AppendUint32(append(dst, tagFloat32), math.Float32bits(v)), nil
	case []byte:
		dst = binary.AppendUvarint(append(dst, tagBytes), uint64(len(v)))
		return append(dst, v...), nil
	case time.Duration:
		return binary.AppendVarint(append(dst, tagDuration), int64(v)), nil
	case time.Time:
		b, err := v.MarshalBinary()
		if err != nil {
			return nil, err
		}
		dst = binary.AppendUvarint(append(dst, tagTime), uint64(len(b)))
		return append(dst, b...), nil
	case []string:
		dst = binary.AppendUvarint(append(dst, tagStrings), uint64(len(v)))
		for _, s := range v {
			dst = appendString(dst, s)
		}
		return dst, nil
	case []any:
		dst = binary.AppendUvarint(append(dst, tagList), uint64(len(v)))
		var err error
		for _, e := range v {
			if dst, err = appendValue(dst, e, depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	case map[string]any:
		dst = binary.AppendUvarint(append(dst, tagMap), uint64(len(v)))
		var err error
		for k, e := range v {
			dst = appendString(dst, k)
			if dst, err = appendValue(dst, e, depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	default:
		name, ok := registeredName(reflect.TypeOf(v))
		if !ok {
			return nil, fmt.Errorf("%T is not a native type: register it with session.Register[%T](name)", v, v)
		}
		payload, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encoding %T as JSON: %w", v, err)
		}
		dst = appendString(append(dst, tagCustom), name)
		dst = binary.AppendUvarint(dst, uint64(len(payload)))
		return append(dst, payload...), nil
	}
}

// errShort is returned for truncated input.
var errShort = errors.New("truncated record")

// errCount is returned for an element count the rest of the input cannot
// hold.
var errCount = errors.New("element count exceeds the input left")

// decoder reads a record. Strings are sliced out of one copy of the input,
// so decoding a record costs one allocation for all its strings.
//
// Counts in the input pre-size slices and maps, so a count is trusted only
// as far as the input can back it: reserved is how many of the bytes left
// are already promised to the elements that open containers have yet to
// decode (at least one byte per element, two per map entry), and a new
// container's count must fit in the bytes left beyond those. Every element
// slot allocated, at any depth, is thus backed by a distinct input byte,
// which bounds decoding's allocation by a constant times the input size.
type decoder struct {
	s        string // the whole input as a string
	i        int
	reserved int
}

func (d *decoder) uvarint() (uint64, error) {
	var x uint64
	var shift uint
	for n := 0; n < binary.MaxVarintLen64; n++ {
		if d.i >= len(d.s) {
			return 0, errShort
		}
		b := d.s[d.i]
		d.i++
		if b < 0x80 {
			if n == binary.MaxVarintLen64-1 && b > 1 {
				return 0, errors.New("varint overflows")
			}
			return x | uint64(b)<<shift, nil
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	return 0, errors.New("varint overflows")
}

func (d *decoder) varint() (int64, error) {
	ux, err := d.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, err
}

// length reads the byte length of a string.
func (d *decoder) length() (int, error) {
	n, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if left := d.left(); left < 0 || n > uint64(left) {
		return 0, errShort // no length can exceed what is left
	}
	return int(n), nil
}

// left returns how many input bytes are neither read nor reserved. It is
// negative when a fixed-size field or a varint overran into reserved
// bytes, which only corrupt input does.
func (d *decoder) left() int { return len(d.s) - d.i - d.reserved }

// count reads the element count of a container whose elements take at
// least size bytes each, and reserves those bytes (see decoder).
func (d *decoder) count(size int) (int, error) {
	n, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	// n*size cannot overflow once n <= left, as size is 1 or 2.
	if left := d.left(); left < 0 || n > uint64(left) || n*uint64(size) > uint64(left) {
		return 0, errCount
	}
	d.reserved += int(n) * size
	return int(n), nil
}

func (d *decoder) str() (string, error) {
	n, err := d.length()
	if err != nil {
		return "", err
	}
	s := d.s[d.i : d.i+n]
	d.i += n
	return s, nil
}

func (d *decoder) fixed(n int) (string, error) {
	if d.left() < n {
		return "", errShort
	}
	s := d.s[d.i : d.i+n]
	d.i += n
	return s, nil
}

func (d *decoder) u64() (uint64, error) {
	s, err := d.fixed(8)
	if err != nil {
		return 0, err
	}
	return uint64(s[0])<<56 | uint64(s[1])<<48 | uint64(s[2])<<40 | uint64(s[3])<<32 |
		uint64(s[4])<<24 | uint64(s[5])<<16 | uint64(s[6])<<8 | uint64(s[7]), nil
}

// Decode implements Codec. It also reads version 1 records, whose flash
// messages lived under the value key "_flash".
func (BinaryCodec) Decode(data []byte, r *Record) error {
	return decodeBinary(string(data), r)
}

// decodeShared is Decode over data that nobody will ever modify, as a
// Store's Get result is: the decoded strings point into data instead of
// into a copy of it.
func decodeShared(data []byte, r *Record) error {
	if len(data) == 0 {
		return decodeBinary("", r)
	}
	return decodeBinary(unsafe.String(&data[0], len(data)), r)
}

// decodeBinary decodes the record in s, whose strings the decoded values
// may share.
func decodeBinary(data string, r *Record) error {
	if len(data) < 3 || data[0] != binMagic0 || data[1] != binMagic1 {
		return errors.New("session: not a sessionkit binary record")
	}
	version := data[2]
	if version != 1 && version != binVersion {
		return fmt.Errorf("session: binary record version %d not supported", version)
	}
	d := decoder{s: data, i: 3}
	c, err := d.u64()
	if err != nil {
		return err
	}
	a, err := d.u64()
	if err != nil {
		return err
	}
	*r = Record{Created: time.Unix(0, int64(c)), Accessed: time.Unix(0, int64(a))}
	if version == binVersion {
		if err := d.meta(r); err != nil {
			return err
		}
	}
	n, err := d.count(2)
	if err != nil {
		return fmt.Errorf("session: decoding the values: %w", err)
	}
	r.Values = make(map[string]any, n)
	if k, err := d.entries(r.Values, n, 0); err != nil {
		return fmt.Errorf("session: decoding value %q: %w", errorKey(k), err)
	}
	if version == 1 {
		if f, ok := r.Values["_flash"].([]any); ok {
			r.Flashes = f
			delete(r.Values, "_flash")
		}
	} else {
		n, err := d.count(1)
		if err != nil {
			return fmt.Errorf("session: decoding the flashes: %w", err)
		}
		if n > 0 {
			r.Flashes = make([]any, n)
			if err := d.list(r.Flashes, 0); err != nil {
				return fmt.Errorf("session: decoding a flash: %w", err)
			}
		}
	}
	if d.i != len(d.s) {
		return errors.New("session: trailing bytes after record")
	}
	return nil
}

// meta reads the fields of a version 2 record between the times and the
// values.
func (d *decoder) meta(r *Record) error {
	flags, err := d.fixed(1)
	if err != nil {
		return err
	}
	f := flags[0]
	if f&^(flagMarker|flagPersistOn|flagPersistOff) != 0 || f&(flagPersistOn|flagPersistOff) == flagPersistOn|flagPersistOff {
		return fmt.Errorf("session: bad record flags %#x", f)
	}
	switch {
	case f&flagPersistOn != 0:
		r.Persist = PersistOn
	case f&flagPersistOff != 0:
		r.Persist = PersistOff
	}
	if f&flagMarker != 0 {
		if r.MovedTo, err = d.str(); err != nil {
			return err
		}
		g, err := d.u64()
		if err != nil {
			return err
		}
		if g != 0 {
			r.GraceUntil = time.Unix(0, int64(g))
		}
	}
	for _, p := range []*string{&r.Owner, &r.UserAgent, &r.ClientIP} {
		if *p, err = d.str(); err != nil {
			return err
		}
	}
	return nil
}

// Empty slices decode to these shared values, so that a list of empty
// lists costs no allocation per element. Sharing is safe: a slice of
// capacity zero cannot be written through, and append copies it.
var (
	emptyList    any = []any{}
	emptyStrings any = []string{}
	emptyBytes   any = []byte{}
)

// list decodes len(out) values into out, whose bytes count reserved.
func (d *decoder) list(out []any, depth int) error {
	var err error
	for i := range out {
		d.reserved--
		if out[i], err = d.value(depth); err != nil {
			return err
		}
	}
	return nil
}

// entries decodes n key/value pairs into out, whose bytes count reserved.
// On error it also returns the key being decoded. A key seen twice is an
// error: no encoder writes one, and out was sized for n distinct keys.
func (d *decoder) entries(out map[string]any, n, depth int) (string, error) {
	for i := range n {
		d.reserved -= 2
		k, err := d.str()
		if err != nil {
			return "", err
		}
		v, err := d.value(depth)
		if err != nil {
			return k, err
		}
		out[k] = v
		if len(out) != i+1 {
			return k, errors.New("duplicate key")
		}
	}
	return "", nil
}

// errorKey shortens a key for an error message, which must not grow with
// hostile input.
func errorKey(k string) string {
	if len(k) > 64 {
		return k[:64] + "..."
	}
	return k
}

// custom decodes a value of a type given to Register: its name, then its
// JSON. encoding/json has no counts to pre-size from: what it allocates
// grows with the JSON, not with numbers in it.
func (d *decoder) custom() (any, error) {
	name, err := d.str()
	if err != nil {
		return nil, err
	}
	payload, err := d.str()
	if err != nil {
		return nil, err
	}
	t, ok := registeredType(name)
	if !ok {
		return nil, fmt.Errorf("a value of type %q, which is not registered with session.Register", errorKey(name))
	}
	p := reflect.New(t)
	if err := json.Unmarshal([]byte(payload), p.Interface()); err != nil {
		return nil, fmt.Errorf("decoding a %q: %w", errorKey(name), err)
	}
	return p.Elem().Interface(), nil
}

func (d *decoder) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nesting too deep")
	}
	t, err := d.fixed(1)
	if err != nil {
		return nil, err
	}
	switch tag := t[0]; tag {
	case tagNil:
		return nil, nil
	case tagString:
		return d.str()
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagInt, tagInt64, tagInt32, tagInt16, tagInt8, tagDuration:
		x, err := d.varint()
		if err != nil {
			return nil, err
		}
		switch tag {
		case tagInt:
			return int(x), nil
		case tagInt64:
			return x, nil
		case tagInt32:
			return int32(x), nil
		case tagInt16:
			return int16(x), nil
		case tagInt8:
			return int8(x), nil
		default:
			return time.Duration(x), nil
		}
	case tagUint, tagUint64, tagUint32, tagUint16:
		x, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		switch tag {
		case tagUint:
			return uint(x), nil
		case tagUint64:
			return x, nil
		case tagUint32:
			return uint32(x), nil
		default:
			return uint16(x), nil
		}
	case tagUint8:
		b, err := d.fixed(1)
		if err != nil {
			return nil, err
		}
		return b[0], nil
	case tagFloat64:
		x, err := d.u64()
		return math.Float64frombits(x), err
	case tagFloat32:
		s, err := d.fixed(4)
		if err != nil {
			return nil, err
		}
		return math.Float32frombits(uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3])), nil
	case tagBytes:
		s, err := d.str()
		if err != nil || s == "" {
			return emptyBytes, err
		}
		return []byte(s), nil
	case tagTime:
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		var tm time.Time
		if err := tm.UnmarshalBinary([]byte(s)); err != nil {
			return nil, err
		}
		return tm, nil
	case tagStrings:
		n, err := d.count(1)
		if err != nil || n == 0 {
			return emptyStrings, err
		}
		out := make([]string, n)
		for i := range out {
			d.reserved--
			if out[i], err = d.str(); err != nil {
				return nil, err
			}
		}
		return out, nil
	case tagList:
		n, err := d.count(1)
		if err != nil || n == 0 {
			return emptyList, err
		}
		out := make([]any, n)
		return out, d.list(out, depth+1)
	case tagMap:
		n, err := d.count(2)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, n)
		_, err = d.entries(out, n, depth+1)
		return out, err
	case tagCustom:
		return d.custom()
	case tagGob:
		// encoding/gob trusts counts in its input (a map count of 2^32
		// exhausts memory), so its values are refused, never decoded.
		return nil, errors.New("a value encoded with encoding/gob by an older version, no longer read: register its type with session.Register")
	default:
		return nil, fmt.Errorf("unknown value tag %d", tag)
	}
}

// JSONCodec stores records as JSON objects that programs in other languages
// can read:
//
//	{"created":"2026-01-02T15:04:05Z","accessed":"...","values":{"user":"ann"},"flashes":["saved"]}
//
// Values come back as the types encoding/json produces for an any: float64
// for every number, string, bool, []any, map[string]any and nil. Use
// BinaryCodec (the default) when handlers need their Go types back.
//
// Decoding n bytes allocates at most 72·n bytes plus a few KiB:
// encoding/json takes no sizes from its input, and its costliest shape is
// one-entry objects nested in each other, 5 bytes ({"":}) for a 336-byte
// Go map.
type JSONCodec struct{}

type jsonRecord struct {
	Created    time.Time      `json:"created"`
	Accessed   time.Time      `json:"accessed"`
	Values     map[string]any `json:"values"`
	Flashes    []any          `json:"flashes,omitempty"`
	Persist    Persist        `json:"persist,omitempty"`
	Owner      string         `json:"owner,omitempty"`
	UserAgent  string         `json:"user_agent,omitempty"`
	ClientIP   string         `json:"client_ip,omitempty"`
	MovedTo    string         `json:"moved_to,omitempty"`
	GraceUntil *time.Time     `json:"grace_until,omitempty"`
}

// Encode implements Codec.
func (JSONCodec) Encode(dst []byte, r *Record) ([]byte, error) {
	jr := jsonRecord{Created: r.Created, Accessed: r.Accessed, Values: r.Values, Flashes: r.Flashes,
		Persist: r.Persist, Owner: r.Owner, UserAgent: r.UserAgent, ClientIP: r.ClientIP, MovedTo: r.MovedTo}
	if !r.GraceUntil.IsZero() {
		jr.GraceUntil = &r.GraceUntil
	}
	b, err := json.Marshal(jr)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// Decode implements Codec.
func (JSONCodec) Decode(data []byte, r *Record) error {
	var jr jsonRecord
	if err := json.Unmarshal(data, &jr); err != nil {
		return err
	}
	if jr.Values == nil {
		jr.Values = map[string]any{}
	}
	*r = Record{Created: jr.Created, Accessed: jr.Accessed, Values: jr.Values, Flashes: jr.Flashes,
		Persist: jr.Persist, Owner: jr.Owner, UserAgent: jr.UserAgent, ClientIP: jr.ClientIP, MovedTo: jr.MovedTo}
	if jr.GraceUntil != nil {
		r.GraceUntil = *jr.GraceUntil
	}
	return nil
}
