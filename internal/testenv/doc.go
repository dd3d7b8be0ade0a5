// Package testenv starts the real servers PocketIDP's integration tests run
// against, all on loopback: a Gitea, a Kubernetes API server backed by etcd,
// and a Helm chart repository.
//
// The server binaries are built from the Go module proxy by
// scripts/testbin/build.sh (`make testbin`) into a cache folder; this package
// finds them through the versions.env file that script writes. When they are
// missing a test is skipped on a developer machine and fails in CI, so CI can
// never go green by skipping the integration tests.
//
// Every server is started by a helper taking a testing.TB (Gitea, APIServer,
// ChartRepo) that stops it in t.Cleanup, and by a non-testing form
// (StartGitea, StartAPIServer, NewChartRepo) for TestMain and fault tests.
// A package can share one API server and one Gitea among its tests with
// SharedAPIServer, SharedGitea and Main; tests then keep apart by naming what
// they create with UniqueName (Cluster.Namespace does so for namespaces).
package testenv
