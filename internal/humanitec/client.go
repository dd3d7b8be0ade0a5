// Package humanitec registers a PocketIDP install with Humanitec's Platform
// Orchestrator through its classic REST API (https://api.humanitec.io), and
// takes back only what the install created.
//
// Client is a small typed client: bearer token, JSON, the API's error body
// surfaced in messages, 401/403/404 told apart with the fix, bounded retries
// with jittered backoff on 429 and 5xx honouring Retry-After, and context
// deadlines. Registrar builds on it: it knows the objects an install
// consists of, creates or updates them (get first, so a re-run writes
// nothing), records each in a Ledger (the state file) and removes them again
// in a safe order. The engine sees Registrar only as an Orchestrator.
package humanitec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pocketidp/pocketidp/internal/report"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// DefaultBaseURL is the classic API.
const DefaultBaseURL = "https://api.humanitec.io"

// Retry bounds the retries of one call.
type Retry struct {
	// Attempts is how many times a call is tried in all (default 6).
	Attempts int
	// BaseDelay is the first backoff (default 500ms); each retry doubles
	// it, up to MaxDelay (default 8s), and waits a random time between half
	// of it and all of it so that parallel calls spread out.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxRetryAfter caps how long a Retry-After header is obeyed (default
	// 60s); a longer request ends the retries.
	MaxRetryAfter time.Duration
	// AttemptTimeout bounds one attempt, so that a hung connection costs
	// one attempt, not the step (default 30s).
	AttemptTimeout time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 6
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = 500 * time.Millisecond
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 8 * time.Second
	}
	if r.MaxRetryAfter <= 0 {
		r.MaxRetryAfter = time.Minute
	}
	if r.AttemptTimeout <= 0 {
		r.AttemptTimeout = 30 * time.Second
	}
	return r
}

// Config is what New needs.
type Config struct {
	// BaseURL defaults to DefaultBaseURL; tests point it at humanitectest.
	BaseURL string
	Org     string
	Token   secret.Value
	// HTTPClient defaults to a client with sane transport timeouts.
	HTTPClient *http.Client
	Retry      Retry
	// MaxInFlight bounds the calls on the wire at once (default 8). 1 makes
	// every call wait for the one before: the benchmark's baseline.
	MaxInFlight int
}

// Client calls the classic API for one org.
type Client struct {
	base  *url.URL
	org   string
	token secret.Value
	hc    *http.Client
	retry Retry
	slots chan struct{}

	// sleep waits between attempts; tests replace it to observe the waits.
	sleep func(ctx context.Context, d time.Duration) error
	// jitter returns a number in [0,1) for the backoff.
	jitter func() float64
}

// New checks cfg and makes a client. It does not call the API: Check does.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("Humanitec API URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.Org == "" {
		return nil, errors.New("no Humanitec org given")
	}
	if cfg.Token.Empty() {
		return nil, errors.New("no Humanitec token given")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		}}
	}
	n := cfg.MaxInFlight
	if n <= 0 {
		n = 8
	}
	return &Client{
		base: u, org: cfg.Org, token: cfg.Token, hc: hc, retry: cfg.Retry.withDefaults(),
		slots: make(chan struct{}, n), sleep: sleepCtx, jitter: rand.Float64,
	}, nil
}

// Org is the org the client works in.
func (c *Client) Org() string { return c.org }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// orgPath joins the org path and escaped segments.
func (c *Client) orgPath(segments ...string) string {
	p := "/orgs/" + url.PathEscape(c.org)
	for _, s := range segments {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// do runs one API call with retries. in, when not nil, is sent as JSON; out,
// when not nil, receives the JSON answer of a 2xx. Any 2xx is success.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
	}
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()

	var lastErr error
	for attempt := 1; ; attempt++ {
		status, hdr, data, err := c.attempt(ctx, method, u.String(), body)
		if err == nil && status >= 200 && status < 300 {
			if out != nil && len(bytes.TrimSpace(data)) > 0 {
				if err := json.Unmarshal(data, out); err != nil {
					return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
				}
			}
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s %s: %w", method, path, ctx.Err())
			}
			lastErr = &NetError{Method: method, Path: path, Err: err}
		} else {
			lastErr = newAPIError(method, path, c.org, status, data)
		}
		if !retryable(status, err) {
			return lastErr
		}
		if attempt >= c.retry.Attempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, lastErr)
		}
		wait, err := c.backoff(ctx, attempt, hdr)
		if err != nil {
			return fmt.Errorf("%w: %w", err, lastErr)
		}
		report.From(ctx).Logger().Debug("humanitec: retrying", "method", method, "path", path, "attempt", attempt, "wait", wait, "err", lastErr)
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s %s: %w (last error: %w)", method, path, err, lastErr)
		}
	}
}

// attempt sends the request once, holding one of the in-flight slots.
func (c *Client) attempt(ctx context.Context, method, u string, body []byte) (int, http.Header, []byte, error) {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, nil, nil, ctx.Err()
	}
	defer func() { <-c.slots }()

	actx, cancel := context.WithTimeout(ctx, c.retry.AttemptTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "pocketidp")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		report.From(ctx).Logger().Debug("humanitec call", "method", method, "url", u, "err", err, "elapsed", time.Since(start))
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	report.From(ctx).Logger().Debug("humanitec call", "method", method, "url", u, "status", resp.StatusCode, "elapsed", time.Since(start))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, data, nil
}

// retryable says whether trying again may help: rate limits, server errors
// and a connection that failed or was cut. A create whose connection was cut
// may have happened; its retry then meets a 409 that the caller resolves by
// ownership, which is why creates are retried too.
func retryable(status int, err error) bool {
	if err != nil {
		return !errors.Is(err, context.Canceled)
	}
	return status == http.StatusTooManyRequests || status >= 500
}

// backoff returns how long to wait before the next attempt: Retry-After when
// the server said so, else exponential backoff with jitter.
func (c *Client) backoff(ctx context.Context, attempt int, hdr http.Header) (time.Duration, error) {
	d := c.retry.BaseDelay << (attempt - 1)
	if d > c.retry.MaxDelay || d <= 0 {
		d = c.retry.MaxDelay
	}
	d = d/2 + time.Duration(c.jitter()*float64(d/2))
	if ra, ok := retryAfter(hdr.Get("Retry-After"), time.Now()); ok {
		if ra > c.retry.MaxRetryAfter {
			return 0, fmt.Errorf("Humanitec asked to wait %s before retrying, longer than %s", ra.Round(time.Second), c.retry.MaxRetryAfter)
		}
		// A little jitter on top keeps parallel calls from returning in
		// the same instant.
		d = ra + time.Duration(c.jitter()*float64(c.retry.BaseDelay/4))
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return 0, fmt.Errorf("the next retry (in %s) would pass the deadline", d.Round(time.Millisecond))
	}
	return d, nil
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// NetError is a call that got no answer.
type NetError struct {
	Method, Path string
	Err          error
}

func (e *NetError) Error() string {
	what := "no answer"
	switch {
	case errors.Is(e.Err, syscall.ECONNRESET):
		what = "connection reset"
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		what = "connection refused"
	case errors.Is(e.Err, io.EOF) || errors.Is(e.Err, io.ErrUnexpectedEOF):
		what = "connection closed"
	case errors.Is(e.Err, context.DeadlineExceeded):
		what = "timed out"
	}
	return fmt.Sprintf("%s %s: %s: %v", e.Method, e.Path, what, e.Err)
}

func (e *NetError) Unwrap() error { return e.Err }

// Fix says what to do about an unreachable API.
func (e *NetError) Fix() string {
	return "check the network connection to the Humanitec API (HUMANITEC_API_URL, proxy settings), then run again"
}
