package charts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/getter"
	"helm.sh/helm/v4/pkg/registry"
	repo "helm.sh/helm/v4/pkg/repo/v1"

	"github.com/pocketidp/pocketidp/internal/report"
)

// Source is where a chart comes from, at one pinned version.
type Source struct {
	// Repo is a classic chart repository (https://…, holding index.yaml) or
	// an OCI registry namespace (oci://ghcr.io/humanitec/charts). Unused
	// when Embedded is set.
	Repo string
	// Chart is the chart's name; Version its exact version (never a range:
	// an install must not change under the user's feet).
	Chart   string
	Version string
	// Embedded is a chart folder compiled into the binary (its root holds
	// Chart.yaml), for the charts PocketIDP writes itself.
	Embedded fs.FS
}

// Archive is the file name `helm pull` gives the chart: the name --chart-dir
// archives must have.
func (s Source) Archive() string { return s.Chart + "-" + s.Version + ".tgz" }

// OCI reports whether the chart comes from an OCI registry.
func (s Source) OCI() bool { return registry.IsOCI(s.Repo) }

func (s Source) String() string {
	switch {
	case s.Embedded != nil:
		return fmt.Sprintf("%s %s (built in)", s.Chart, s.Version)
	case s.OCI():
		return fmt.Sprintf("%s/%s:%s", s.Repo, s.Chart, s.Version)
	default:
		return fmt.Sprintf("%s %s from %s", s.Chart, s.Version, s.Repo)
	}
}

// pullCommand is how a user fetches the archive by hand for --chart-dir.
func (s Source) pullCommand() string {
	if s.OCI() {
		return fmt.Sprintf("helm pull %s/%s --version %s", s.Repo, s.Chart, s.Version)
	}
	return fmt.Sprintf("helm pull %s --repo %s --version %s", s.Chart, s.Repo, s.Version)
}

// FetchError is a chart that could not be had: the repository or registry
// did not answer, or does not hold that version. Nothing was installed.
type FetchError struct {
	Source Source
	Err    error
}

func (e *FetchError) Error() string {
	return fmt.Sprintf("get chart %s: %v", e.Source, e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }

// Fix names what the user can do: fix the network, or install offline.
func (e *FetchError) Fix() string {
	return fmt.Sprintf("check the network connection to %s, or download the chart where the network works (%s) and pass the folder holding %s with --chart-dir",
		e.Source.Repo, e.Source.pullCommand(), e.Source.Archive())
}

// loadChart finds the chart: built in, else the offline folder, else the
// download cache, else the network (then it is kept in the cache, so a
// re-run or an upgrade of the same version needs no network).
func (i *chartLoader) loadChart(ctx context.Context, src Source) (*chart.Chart, error) {
	if src.Embedded != nil {
		ch, err := loadFS(src.Embedded)
		if err != nil {
			return nil, fmt.Errorf("load built-in chart %s: %w", src.Chart, err)
		}
		return ch, checkChart(ch, src)
	}
	if i.opts.ChartDir != "" {
		p := filepath.Join(i.opts.ChartDir, src.Archive())
		if _, err := os.Stat(p); err == nil {
			return loadArchive(p, src)
		}
		if ch, p, err := loadSourceBuild(i.opts.ChartDir, src); err != nil {
			return nil, err
		} else if ch != nil {
			report.From(ctx).Logger().Warn(fmt.Sprintf("using %s, an unreleased build of the %s chart's source, from --chart-dir in place of the pinned %s",
				filepath.Base(p), src.Chart, src.Version), "chart", src.Chart, "file", p)
			return ch, nil
		}
		report.From(ctx).Logger().Debug("chart not in --chart-dir, trying the cache and the network", "chart", src.Archive(), "dir", i.opts.ChartDir)
	}
	cached := filepath.Join(i.opts.CacheDir, src.Archive())
	if _, err := os.Stat(cached); err == nil {
		if ch, err := loadArchive(cached, src); err == nil {
			return ch, nil
		}
		// A damaged cache entry is fetched again rather than trusted.
		report.From(ctx).Logger().Warn("cached chart unreadable, downloading it again", "file", cached)
	}
	data, err := i.download(src)
	if err != nil {
		err = &FetchError{Source: src, Err: err}
		if i.opts.ChartDir != "" {
			err = fmt.Errorf("%s is not in --chart-dir %s: %w", src.Archive(), i.opts.ChartDir, err)
		}
		return nil, err
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, &FetchError{Source: src, Err: fmt.Errorf("downloaded archive unreadable: %w", err)}
	}
	if err := checkChart(ch, src); err != nil {
		return nil, &FetchError{Source: src, Err: err}
	}
	if err := renameio.WriteFile(cached, data, 0o644); err != nil {
		// The chart is in hand; a cache that cannot be written only costs a
		// download next time.
		report.From(ctx).Logger().Warn("could not keep the chart in the cache", "file", cached, "error", err)
	}
	return ch, nil
}

func loadArchive(p string, src Source) (*chart.Chart, error) {
	ch, err := loader.Load(p)
	if err != nil {
		return nil, fmt.Errorf("load chart archive %s: %w", p, err)
	}
	if err := checkChart(ch, src); err != nil {
		return nil, fmt.Errorf("chart archive %s: %w", p, err)
	}
	return ch, nil
}

// installedVersion is the chart version a release of src has once applied:
// src.Version, or 0.0.0 where --chart-dir gives a source build in its place
// (loadSourceBuild), so that a re-run sees nothing to upgrade.
func (i *chartLoader) installedVersion(src Source) string {
	if src.Embedded != nil || i.opts.ChartDir == "" {
		return src.Version
	}
	if _, err := os.Stat(filepath.Join(i.opts.ChartDir, src.Archive())); err == nil {
		return src.Version
	}
	if ch, _, err := loadSourceBuild(i.opts.ChartDir, src); err == nil && ch != nil {
		return sourceBuildVersion
	}
	return src.Version
}

// sourceBuildVersion is the version a chart's source tree carries until a
// release sets it when packaging (the Gitea chart's Chart.yaml says 0.0.0).
const sourceBuildVersion = "0.0.0"

// loadSourceBuild finds, in dir, an archive of src's chart packaged from its
// unreleased source (<chart>-0.0.0*.tgz whose Chart.yaml is that chart at
// 0.0.0): a chart-dir for a version whose release archive cannot be had, as
// in a network without the chart repository. Any other version is refused
// by the exact-name rule, so a wrong file cannot install something else.
// It returns a nil chart when there is none.
func loadSourceBuild(dir string, src Source) (*chart.Chart, string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, src.Chart+"-"+sourceBuildVersion+"*.tgz"))
	if err != nil || len(matches) == 0 {
		return nil, "", err
	}
	if len(matches) > 1 {
		return nil, "", fmt.Errorf("--chart-dir %s holds several source builds of %s (%s): keep one, or add %s",
			dir, src.Chart, strings.Join(matches, ", "), src.Archive())
	}
	ch, err := loader.Load(matches[0])
	if err != nil {
		return nil, "", fmt.Errorf("load chart archive %s: %w", matches[0], err)
	}
	if err := checkChart(ch, Source{Chart: src.Chart, Version: sourceBuildVersion}); err != nil {
		return nil, "", fmt.Errorf("chart archive %s: %w", matches[0], err)
	}
	return ch, matches[0], nil
}

// checkChart refuses an archive that is not the pinned chart, so a wrongly
// named file in --chart-dir cannot install something else.
func checkChart(ch *chart.Chart, src Source) error {
	if ch.Metadata == nil || ch.Metadata.Name != src.Chart || ch.Metadata.Version != src.Version {
		got := "no metadata"
		if ch.Metadata != nil {
			got = ch.Metadata.Name + " " + ch.Metadata.Version
		}
		return fmt.Errorf("holds chart %s, want %s %s", got, src.Chart, src.Version)
	}
	return nil
}

// loadFS loads a chart folder from an fs.FS (a go:embed folder).
func loadFS(fsys fs.FS) (*chart.Chart, error) {
	var files []*archive.BufferedFile
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files = append(files, &archive.BufferedFile{Name: path.Clean(p), Data: data})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loader.LoadFiles(files)
}

// download fetches the chart archive from its repository or registry.
func (i *chartLoader) download(src Source) ([]byte, error) {
	if src.OCI() {
		ref := strings.TrimPrefix(src.Repo, "oci://") + "/" + src.Chart + ":" + src.Version
		res, err := i.registry.Pull(ref)
		if err != nil {
			return nil, err
		}
		return res.Chart.Data, nil
	}
	getters := getter.Providers{{Schemes: []string{"http", "https"}, New: getter.NewHTTPGetter}}
	timeout := getter.WithTimeout(i.opts.DownloadTimeout)

	// The index is read into a temporary folder: Helm's default cache is
	// the user's ~/.cache/helm, which PocketIDP does not touch.
	tmp, err := os.MkdirTemp(i.opts.CacheDir, "index-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	r, err := repo.NewChartRepository(&repo.Entry{Name: "pocketidp-" + src.Chart, URL: src.Repo}, getters)
	if err != nil {
		return nil, err
	}
	r.CachePath = tmp
	idxPath, err := r.DownloadIndexFile()
	if err != nil {
		return nil, err
	}
	idx, err := repo.LoadIndexFile(idxPath)
	if err != nil {
		return nil, fmt.Errorf("read index of %s: %w", src.Repo, err)
	}
	cv, err := idx.Get(src.Chart, src.Version)
	if err != nil {
		return nil, fmt.Errorf("%s has no %s %s: %w", src.Repo, src.Chart, src.Version, err)
	}
	if len(cv.URLs) == 0 {
		return nil, fmt.Errorf("%s lists %s %s without a download URL", src.Repo, src.Chart, src.Version)
	}
	u, err := repo.ResolveReferenceURL(src.Repo, cv.URLs[0])
	if err != nil {
		return nil, err
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return nil, err
	}
	g, err := getters.ByScheme(parsed.Scheme)
	if err != nil {
		return nil, err
	}
	buf, err := g.Get(u, timeout, getter.WithAcceptHeader("application/gzip,application/octet-stream"))
	if err != nil {
		return nil, err
	}
	data := buf.Bytes()
	// The index's digest guards against a truncated or swapped download.
	if cv.Digest != "" {
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != strings.TrimPrefix(cv.Digest, "sha256:") {
			return nil, fmt.Errorf("archive from %s has digest %s, the index says %s", u, got, cv.Digest)
		}
	}
	return data, nil
}

func newRegistryClient(opts Options) (*registry.Client, error) {
	ro := []registry.ClientOption{
		registry.ClientOptWriter(io.Discard),
		// Credentials live beside the cache, not in the user's Helm config.
		registry.ClientOptCredentialsFile(filepath.Join(opts.CacheDir, "registry.json")),
	}
	if opts.PlainHTTPRegistry {
		ro = append(ro, registry.ClientOptPlainHTTP())
	}
	c, err := registry.NewClient(ro...)
	if err != nil {
		return nil, fmt.Errorf("helm registry client: %w", err)
	}
	return c, nil
}
