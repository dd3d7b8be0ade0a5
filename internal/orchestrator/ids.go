package orchestrator

import "regexp"

// idPattern is what the API allows for app, env and env type ids.
var idPattern = regexp.MustCompile(`^[a-z0-9](?:-?[a-z0-9]+)+$`)

// defIDPattern is what the API allows for definition and class ids.
var defIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]+[a-z0-9]$`)

// maxIDLen is the API's limit on those ids.
const maxIDLen = 50

func validID(id string) bool { return len(id) <= maxIDLen && idPattern.MatchString(id) }
