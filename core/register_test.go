package session_test

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
)

type level int

type cart struct {
	Items  []string
	Counts map[string]int
	At     time.Time
}

func init() {
	session.Register[level]("level")
	session.Register[*cart]("cart")
}

func TestRegisteredTypesRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	in := &session.Record{Values: map[string]any{
		"budget": budgetType{Name: "n", Tags: []string{"a", "b"}, Counts: map[string]int{"x": 1}},
		"level":  level(3),
		"cart":   &cart{Items: []string{"pen"}, Counts: map[string]int{"pen": 2}, At: at},
		"nilptr": (*cart)(nil),
		"nested": []any{level(1), map[string]any{"b": budgetType{}}},
	}}
	data, err := session.BinaryCodec{}.Encode(nil, in)
	require.NoError(t, err)
	var out session.Record
	require.NoError(t, session.BinaryCodec{}.Decode(data, &out))
	assert.Equal(t, in.Values, out.Values)
	// A decoded pointer is a new value, not the one encoded.
	assert.NotSame(t, in.Values["cart"], out.Values["cart"])

	// Through a Manager and its store, the handler gets its type back.
	e, c := newEnv(t), newClient()
	e.request(c, func(s *session.Session) { require.NoError(t, s.Set("cart", &cart{Items: []string{"pen"}})) })
	e.request(c, func(s *session.Session) {
		got, ok := s.Get("cart").(*cart)
		require.True(t, ok, "got %T", s.Get("cart"))
		assert.Equal(t, []string{"pen"}, got.Items)
	})
}

func TestUnregisteredTypeCannotBeStored(t *testing.T) {
	type local struct{ X int }
	_, err := session.BinaryCodec{}.Encode(nil, &session.Record{Values: map[string]any{"k": []any{local{1}}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "session.Register")

	e := newEnv(t)
	e.request(newClient(), func(s *session.Session) {
		err := s.Set("k", local{1})
		require.Error(t, err, "Set must refuse a value the codec cannot store")
		assert.Contains(t, err.Error(), "session.Register")
	})
}

func TestRegisterRefusesClashes(t *testing.T) {
	type fresh struct{ A int }
	type other struct{ B int }
	for name, f := range map[string]func(){
		"empty name":        func() { session.Register[fresh]("") },
		"name taken":        func() { session.Register[fresh]("budget") },
		"type registered":   func() { session.Register[budgetType]("budget2") },
		"same pair twice":   func() { session.Register[level]("level") },
		"interface type":    func() { session.Register[fmt.Stringer]("stringer") },
		"native type":       func() { session.Register[map[string]any]("map") },
		"native time":       func() { session.Register[time.Time]("time") },
		"native byte slice": func() { session.Register[[]byte]("bytes") },
	} {
		assert.Panics(t, f, name)
	}
	// Registering still works after those panics.
	assert.NotPanics(t, func() { session.Register[other]("register-test-other") })
}

// custom returns a version 2 record holding one value under the custom
// tag, with the given name and payload.
func custom(name, payload string) []byte {
	v := binary.AppendUvarint([]byte{tagCustom}, uint64(len(name)))
	v = append(v, name...)
	v = binary.AppendUvarint(v, uint64(len(payload)))
	return oneValue("k", append(v, payload...))
}

func TestCorruptCustomValuesAreErrors(t *testing.T) {
	var r session.Record
	require.NoError(t, session.BinaryCodec{}.Decode(custom("budget", `{"Name":"x","Counts":{"a":1}}`), &r))
	assert.Equal(t, budgetType{Name: "x", Counts: map[string]int{"a": 1}}, r.Values["k"])

	for name, data := range map[string][]byte{
		"unknown name":    custom("nobody", `{}`),
		"bad JSON":        custom("budget", `{"Name":`),
		"wrong JSON type": custom("budget", `{"Tags":"x"}`),
		"trailing JSON":   custom("level", `1 2`),
		"gob":             gobRecord(),
	} {
		err := session.BinaryCodec{}.Decode(data, &r)
		assert.Error(t, err, name)
	}
}
