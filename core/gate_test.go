package session_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

// answering is an Exchange that records what a Gate asks it to answer.
type answering struct {
	*sessiontest.Exchange
	w       http.ResponseWriter
	answers []string
}

func (x *answering) Answer(err error, replace bool) {
	x.answers = append(x.answers, err.Error())
	if replace {
		x.w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(x.w, "try later")
	}
}

// gated starts a request of e's Manager described by x, with a
// GateWriter over a recorder, and sets k=v in its session.
func (e *env) gated(x session.Exchange) (*session.GateWriter, *session.Session, *httptest.ResponseRecorder) {
	e.t.Helper()
	rec := httptest.NewRecorder()
	h := begin(e.m, x)
	w := new(session.GateWriter)
	w.Init(h, rec)
	s, err := h.Session()
	require.NoError(e.t, err)
	s.Set("k", "v")
	return w, s, rec
}

func TestGateCommitsOnceBeforeTheFirstByte(t *testing.T) {
	e, c := newEnv(t), newClient()
	x := c.exchange()
	w, s, rec := e.gated(x)
	s.Set("k2", "before the headers")
	assert.Nil(t, x.LastCookie())
	_, err := io.WriteString(w, "body")
	require.NoError(t, err)
	require.NotNil(t, x.LastCookie(), "committed before the first byte")
	require.True(t, w.Written())
	_, sets, _ := e.count.Calls()
	_, err = io.WriteString(w, " more")
	require.NoError(t, err)
	_, sets2, _ := e.count.Calls()
	require.Equal(t, sets, sets2, "committed again")
	require.NoError(t, w.Done(t.Context()))
	require.Equal(t, "body more", rec.Body.String())

	c.cookie = x.LastCookie().Value
	e.request(c, func(s *session.Session) { assert.Equal(t, "before the headers", s.Get("k2")) })
}

func TestGateReportsALateChangeWhenTheHandlerReturns(t *testing.T) {
	e, c := newEnv(t), newClient()
	w, s, _ := e.gated(c.exchange())
	w.Flush()
	s.Set("tardy", "x")
	require.ErrorIs(t, w.Done(t.Context()), session.ErrLateChange)
	require.Contains(t, e.log.String(), "tardy")
}

func TestGateCommitsAnUntouchedResponseWhenTheHandlerReturns(t *testing.T) {
	e, c := newEnv(t), newClient()
	x := c.exchange()
	w, _, _ := e.gated(x)
	require.False(t, w.Written())
	require.NoError(t, w.Done(t.Context()))
	require.NotNil(t, x.LastCookie(), "the framework writes the headers next: the cookie must be there")
}

func TestGateSkipsTheCommitOfARecoveryAnsweringAPanic(t *testing.T) {
	e, c := newEnv(t), newClient()
	x := c.exchange()
	w, s, rec := e.gated(x)
	s.Set("k", "half-done")
	func() {
		defer func() {
			_ = recover()
			w.WriteHeader(http.StatusInternalServerError) // the recovery middleware's answer
			io.WriteString(w, "recovered")
		}()
		panic("handler bug")
	}()
	require.Equal(t, "recovered", rec.Body.String())
	require.Nil(t, x.LastCookie())
	_, sets, _ := e.count.Calls()
	require.Zero(t, sets, "a panicking handler's change was committed")
}

func TestGateAnswersAFailedCommitWithTheErrorResponse(t *testing.T) {
	for _, custom := range []bool{false, true} {
		e, c := newEnv(t), newClient()
		ax := &answering{Exchange: c.exchange()}
		var x session.Exchange = ax.Exchange
		if custom {
			x = ax
		}
		w, _, rec := e.gated(x) // a new session: no store call yet
		ax.w = rec
		e.fail.SetDown(true)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Etag", `"v1"`)
		w.WriteHeader(http.StatusCreated)
		_, err := io.WriteString(w, `{"secret":1}`)
		require.ErrorIs(t, err, session.ErrStore, "a write after the failed commit")
		require.ErrorIs(t, w.Err(), session.ErrStore)
		require.Empty(t, rec.Header().Get("Etag"))
		require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		if custom {
			require.Equal(t, http.StatusServiceUnavailable, rec.Code)
			require.Equal(t, "try later", rec.Body.String())
			require.Len(t, ax.answers, 1)
		} else {
			require.Equal(t, session.ErrorStatus, rec.Code)
			require.Equal(t, session.ErrorBody, rec.Body.String())
		}
		require.Nil(t, ax.LastCookie())
		require.Equal(t, 1, strings.Count(e.log.String(), "could not be saved"), "logged once")
		require.NoError(t, w.Done(t.Context()), "a failed gate reports nothing more")
	}
}

func TestGateFailAnswersOnceAndRefusesLaterWrites(t *testing.T) {
	e, c := newEnv(t), newClient()
	rec := httptest.NewRecorder()
	x := &answering{Exchange: c.exchange(), w: rec}
	h := begin(e.m, x)
	w := new(session.GateWriter)
	w.Init(h, rec)
	cause := errors.New("load failed")
	require.Same(t, cause, w.Fail(cause))
	require.Same(t, cause, w.Fail(errors.New("again")), "the first error stands")
	_, err := io.WriteString(w, "careless")
	require.Same(t, cause, err)
	require.Equal(t, []string{"load failed"}, x.answers)
	require.Equal(t, "try later", rec.Body.String())
	require.Equal(t, 1, strings.Count(e.log.String(), "load failed"), "logged once")

	// Once the response is under way, the answer only reports.
	rec2 := httptest.NewRecorder()
	x2 := &answering{Exchange: c.exchange(), w: rec2}
	w2 := new(session.GateWriter)
	w2.Init(begin(e.m, x2), rec2)
	io.WriteString(w2, "page")
	w2.Fail(cause)
	_, err = io.WriteString(w2, " rest")
	require.Same(t, cause, err)
	require.Equal(t, "page", rec2.Body.String())
	require.Len(t, x2.answers, 1)
}

func TestGateWithoutAHandleAnswersWithTheDefaultLogger(t *testing.T) {
	log := testenv.DefaultLog(t)
	rec := httptest.NewRecorder()
	w := new(session.GateWriter)
	w.Init(nil, rec)
	require.Nil(t, w.Handle())
	require.ErrorIs(t, w.Fail(session.ErrNoMiddleware), session.ErrNoMiddleware)
	_, err := io.WriteString(w, "careless")
	require.ErrorIs(t, err, session.ErrNoMiddleware)
	require.Equal(t, session.ErrorStatus, rec.Code)
	require.Equal(t, session.ErrorBody, rec.Body.String())
	require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	require.Contains(t, log.String(), session.ErrNoMiddleware.Error())
}

func TestGateAllocatesNothingOnAnUntouchedRequest(t *testing.T) {
	e, c := newEnv(t), newClient()
	x := c.exchange()
	h := begin(e.m, x)
	w := new(session.GateWriter)
	rec := httptest.NewRecorder()
	body := []byte("ok")
	allocs := testing.AllocsPerRun(100, func() {
		*h = session.Handle{}
		h.Init(e.m, x)
		w.Init(h, rec)
		w.WriteHeader(http.StatusOK)
		w.Write(body)
		_ = w.Done(t.Context())
		rec.Body.Reset()
	})
	require.Zero(t, allocs)
}
