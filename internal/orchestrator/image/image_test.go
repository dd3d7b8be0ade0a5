package image

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestImageHoldsTheBinaryAndRunsIt(t *testing.T) {
	bin := []byte("#!fake pocketidp binary\x00\x01")
	img, err := Build(bin, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	if err := WriteArchive(&archive, Ref("v1.2.3"), img); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(Ref("v1.2.3"))
	data := archive.Bytes()
	back, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, &tag)
	if err != nil {
		t.Fatalf("the archive does not read back as an image: %v", err)
	}
	cf, err := back.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != BinaryPath || cf.Config.User != User {
		t.Errorf("config = %s/%s entrypoint %v user %q", cf.OS, cf.Architecture, cf.Config.Entrypoint, cf.Config.User)
	}
	layers, _ := back.Layers()
	if len(layers) != 1 {
		t.Fatalf("%d layers", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(rc)
	h, err := tr.Next()
	if err != nil || h.Name != "pocketidp" || h.Mode != 0o755 {
		t.Fatalf("layer entry %+v, %v", h, err)
	}
	got, _ := io.ReadAll(tr)
	if !bytes.Equal(got, bin) {
		t.Error("the binary in the image differs")
	}
	// The same binary makes the same image, so a re-run finds it loaded.
	again, _ := Build(bin, "amd64")
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("digests differ: %s %s", d1, d2)
	}
	if Ref("") != Repository+":dev" {
		t.Errorf("Ref(\"\") = %s", Ref(""))
	}
}

func TestBuildFileRefusesWhatCannotRunAlone(t *testing.T) {
	dir := t.TempDir()
	notELF := filepath.Join(dir, "script")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := BuildFile(notELF, "amd64"); err == nil || !strings.Contains(err.Error(), "not a Linux executable") {
		t.Errorf("a script: %v", err)
	}
	// The test binary itself: static or not, BuildFile says which.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "linux" {
		return // the test binary is ELF only on Linux (CI's system)
	}
	f, err := elf.Open(self)
	if err != nil {
		t.Fatalf("the test binary is not ELF: %v", err)
	}
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	f.Close()
	_, err = BuildFile(self, "amd64")
	if dynamic != (err != nil) {
		t.Errorf("dynamic=%v, BuildFile error %v", dynamic, err)
	}
}
