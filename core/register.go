package session

import (
	"fmt"
	"reflect"
	"sync"
)

// Register makes values of type T storable with BinaryCodec, under name.
// A T is stored as name and its encoding/json encoding, and read back with
// json.Unmarshal into a new T, so T must round-trip through encoding/json:
// exported fields, and no interface-typed fields whose Go types matter
// (they come back as JSON's types, float64 for every number).
//
// The name, not the Go type, is what stored records hold: keep it when the
// type moves or is renamed, and never give it to another type. A record
// holding a name no longer registered fails to decode (ErrCorrupt).
//
// JSONCodec needs no registration: it stores every value as JSON and
// reads it back as JSON's types.
//
// Call Register from an init function, as with gob.Register. It panics if
// name is empty or already registered, if T is already registered (under
// any name), if T is an interface type, or if T is one of the types
// BinaryCodec encodes natively.
//
// Decoding is linear in the stored bytes, with a factor that depends on T:
// a slice or map element can cost a few bytes of JSON (`{},`), so large
// element types, and large arrays (allocated whole for any input), raise
// what a corrupt record can make the decoder allocate.
func Register[T any](name string) {
	t := reflect.TypeFor[T]()
	if name == "" {
		panic("session.Register: empty name")
	}
	if t.Kind() == reflect.Interface {
		panic(fmt.Sprintf("session.Register: %v is an interface type; register the concrete types", t))
	}
	var zero T
	if b, err := appendValue(nil, zero, 0); err == nil && b[0] != tagCustom {
		panic(fmt.Sprintf("session.Register: %v is encoded natively and needs no registration", t))
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if old, ok := registry.byName[name]; ok {
		panic(fmt.Sprintf("session.Register: name %q registered twice (for %v and %v)", name, old, t))
	}
	if old, ok := registry.byType[t]; ok {
		panic(fmt.Sprintf("session.Register: %v registered twice (as %q and %q)", t, old, name))
	}
	if registry.byName == nil {
		registry.byName = make(map[string]reflect.Type)
		registry.byType = make(map[reflect.Type]string)
	}
	registry.byName[name] = t
	registry.byType[t] = name
}

// registry holds the types given to Register, both ways.
var registry struct {
	mu     sync.RWMutex
	byName map[string]reflect.Type
	byType map[reflect.Type]string
}

func registeredName(t reflect.Type) (string, bool) {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	name, ok := registry.byType[t]
	return name, ok
}

func registeredType(name string) (reflect.Type, bool) {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	t, ok := registry.byName[name]
	return t, ok
}
