// Package image packages the pocketidp binary as the local orchestrator's
// container image. No public image exists: `up` builds this one from the
// binary it runs (or, on macOS, the Linux binary it embeds) and loads it
// into the kind node, as `kind load image-archive` does.
package image

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Where the binary goes in the image, and who runs it.
const (
	BinaryPath = "/pocketidp"
	// User is an unprivileged uid:gid, as the orchestrator's Deployment
	// asks for (runAsNonRoot).
	User = "65532:65532"
	// Repository is the image's name; the tag is the pocketidp version.
	Repository = "pocketidp.local/orchestrator"
)

// epoch dates the layer and the config, so the same binary always makes
// the same image (and a re-run of `up` finds it loaded already).
var epoch = time.Unix(0, 0).UTC()

// Build makes a single-layer image holding the binary at BinaryPath,
// started as `pocketidp` by User, for linux/arch.
func Build(binary []byte, arch string) (v1.Image, error) {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	if err := tw.WriteHeader(&tar.Header{Name: BinaryPath[1:], Mode: 0o755, Size: int64(len(binary)), ModTime: epoch,
		Typeflag: tar.TypeReg, Uid: 0, Gid: 0}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(binary); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := layer.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", arch, v1.Time{Time: epoch}
	cf.Config.Entrypoint = []string{BinaryPath}
	cf.Config.User = User
	cf.Config.Labels = map[string]string{"org.opencontainers.image.title": "PocketIDP local orchestrator"}
	return mutate.ConfigFile(img, cf)
}

// Ref is the image's reference for a version ("dev" when unknown).
func Ref(version string) string {
	if version == "" {
		version = "dev"
	}
	return Repository + ":" + version
}

// BuildFile builds the image from a binary on disk, which must be a
// static Linux executable: the image has nothing else in it.
func BuildFile(path, arch string) (v1.Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the pocketidp binary for the orchestrator's image: %w", err)
	}
	if err := checkStatic(b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return Build(b, arch)
}

// checkStatic refuses what cannot run alone in the image: not a Linux ELF
// executable, or one that needs a dynamic loader (built with cgo).
func checkStatic(b []byte) error {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("not a Linux executable (%v): the orchestrator's image needs the linux build of pocketidp", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("dynamically linked: build pocketidp with CGO_ENABLED=0 for the orchestrator's image")
		}
	}
	return nil
}

// WriteArchive writes img tagged ref as a docker image archive, the form
// kind loads into its nodes.
func WriteArchive(w io.Writer, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", ref, err)
	}
	return tarball.Write(tag, img, w)
}
