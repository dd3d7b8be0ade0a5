// Package orchestrator is PocketIDP's local orchestrator: it serves the
// subset of the Humanitec Platform Orchestrator's classic REST API that the
// course, its CI workflows and its Terraform example use, so that the whole
// course works on one machine without a Humanitec account.
//
// It is not Humanitec. It keeps one org and one bearer token; its state
// (env types, apps, environments, shared values, resource classes and
// definitions, deltas, deployments, active resources, artefact versions)
// lives in a Store: in memory for tests, in ConfigMaps and Secrets of the
// cluster when it runs there, so it survives restarts.
//
// Routes it does not serve answer 501 with a JSON error naming the method
// and path, and are logged: a gap in what a client calls shows at once.
// Status codes follow Humanitec's published OpenAPI document
// (shared/humanitec/openapi.json); the package's tests validate every
// request and response against it with kin-openapi. The product itself does
// not load the document.
//
// Deployments answer 201 and then move from "in progress" to "succeeded"
// or "failed" as the Deployer the server was given carries them out.
package orchestrator
