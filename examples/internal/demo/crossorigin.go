package demo

import (
	"errors"
	"net/http"
	"net/url"
)

// crossOriginRefusal returns the 403 refusal for the error of
// http.CrossOriginProtection.Check.
func crossOriginRefusal(err error) *Refusal {
	if err == nil { // never: the deny handler runs for refused requests only
		err = errors.New("cross-origin request refused")
	}
	return &Refusal{Status: http.StatusForbidden, Err: err}
}

// CrossOriginProtection returns the CSRF protection of the demos built on
// net/http (net/http, gin, echo): Go's http.CrossOriginProtection, which
// refuses a POST, PUT or DELETE that a browser sent from another origin
// (Sec-Fetch-Site other than same-origin or none, or an Origin that does
// not match the Host), whether cross-site or same-site (another port or
// subdomain). Requests without either header (curl, the load test) and
// GET, HEAD and OPTIONS pass. It trusts no other origin and has no bypass;
// a refusal is answered 403 as a Refusal, like the demos' other refusals.
func CrossOriginProtection() *http.CrossOriginProtection {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		crossOriginRefusal(p.Check(r)).ServeHTTP(w, r)
	}))
	return p
}

// crossOrigin is the protection CheckCrossOrigin applies.
var crossOrigin = CrossOriginProtection()

// CheckCrossOrigin applies http.CrossOriginProtection's check to a request
// of a server that is not net/http (fiber): its method, Host header, path
// and Sec-Fetch-Site and Origin headers. It returns the 403 refusal, or nil
// if the request may pass, exactly as CrossOriginProtection would decide.
func CheckCrossOrigin(method, host, path, secFetchSite, origin string) *Refusal {
	req := &http.Request{Method: method, Host: host, URL: &url.URL{Path: path}, Header: http.Header{}}
	if secFetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", secFetchSite)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if err := crossOrigin.Check(req); err != nil {
		return crossOriginRefusal(err)
	}
	return nil
}
