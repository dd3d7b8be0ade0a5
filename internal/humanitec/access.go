package humanitec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/pocketidp/pocketidp/internal/config"
)

// UnreachableError is a check that got no answer from Humanitec (DNS, a
// proxy, no network, a timeout): nothing is known about the token, so it
// is kept, and the fix is the network's, not the token's.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("Humanitec could not be reached at %s: %v", e.URL, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Fix says what to check.
func (e *UnreachableError) Fix() string {
	return "check the network (and HTTPS_PROXY, or HUMANITEC_API_URL if set), then try again; the token was not refused"
}

// IsUnreachable reports whether err is a check that got no answer.
func IsUnreachable(err error) bool {
	var ue *UnreachableError
	return errors.As(err, &ue)
}

// unreachable wraps a call's error: an answer outside 2xx (a 5xx) is
// Humanitec's, anything else is the way there.
func unreachable(c *Client, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if st := StatusOf(err); st != 0 {
		return fmt.Errorf("check the Humanitec token: %w", err)
	}
	return &UnreachableError{URL: c.base.String(), Err: err}
}

// CheckAccess verifies token and org with two reads made at once: the token's
// user (401 or 403 there: the token is bad) and the org (403 or 404: wrong
// org, or not a member). A role other than Administrator is refused too,
// before anything is created.
func CheckAccess(ctx context.Context, c *Client, r Reporter) error {
	var (
		user           CurrentUser
		userErr, orgEr error
		wg             sync.WaitGroup
	)
	wg.Go(func() { user, userErr = c.CurrentUser(ctx) })
	wg.Go(func() { _, orgEr = c.Organization(ctx) })
	wg.Wait()
	org := c.Org()
	if userErr != nil {
		if st := StatusOf(userErr); st == http.StatusUnauthorized || st == http.StatusForbidden {
			return &config.InputError{
				Msg: fmt.Sprintf("Humanitec does not accept the token (%s)", userErr),
				Hint: "set HUMANITEC_TOKEN (or --humanitec-token-file) to a valid, unexpired API token of a service user " +
					"with the Administrator role in org " + org + " (Org settings > Service users in https://app.humanitec.io)",
			}
		}
		return unreachable(c, userErr)
	}
	if orgEr != nil {
		if st := StatusOf(orgEr); st == http.StatusForbidden || st == http.StatusNotFound {
			return &config.InputError{
				Msg:  fmt.Sprintf("Humanitec org %q does not exist or the token's user %s is not a member of it (%s)", org, user.label(), orgEr),
				Hint: "set HUMANITEC_ORG to the org id in https://app.humanitec.io/orgs/<org-id>/" + user.orgsHint(),
			}
		}
		if StatusOf(orgEr) == 0 {
			return unreachable(c, orgEr)
		}
		return fmt.Errorf("check the Humanitec org %s: %w", org, orgEr)
	}
	switch role := user.Roles["/orgs/"+org]; role {
	case "administrator":
		r.log().Info("Humanitec token checked", "user", user.label(), "org", org, "role", role)
	case "":
		// Service users do not always list their roles; the first write
		// tells (403 with the fix) before anything else is made.
		r.log().Info("Humanitec token checked; its role in the org is not listed", "user", user.label(), "org", org)
	default:
		return &config.InputError{
			Msg: fmt.Sprintf("the token's user %s has the role %q in Humanitec org %s; PocketIDP needs Administrator "+
				"to create environment types, resource definitions and agents", user.label(), role, org),
			Hint: "give the service user the Administrator role in org " + org + " (Org settings > Service users), or use a token of one that has it",
		}
	}
	return nil
}
