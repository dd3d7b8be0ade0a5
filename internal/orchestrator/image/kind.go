package image

import (
	"bytes"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// LoadIntoKind loads img, tagged ref, into every node of the kind cluster
// name, as `kind load image-archive` does; a node that has the same image
// already is left alone. The Deployment then runs it without a pull.
func LoadIntoKind(p *cluster.Provider, clusterName, ref string, img v1.Image) error {
	ns, err := p.ListInternalNodes(clusterName)
	if err != nil {
		return fmt.Errorf("list the nodes of kind cluster %s: %w", clusterName, err)
	}
	if len(ns) == 0 {
		return fmt.Errorf("kind cluster %s has no nodes: run `pocketidp up` to create it", clusterName)
	}
	digest, err := img.ConfigName()
	if err != nil {
		return err
	}
	var archive bytes.Buffer
	if err := WriteArchive(&archive, ref, img); err != nil {
		return err
	}
	for _, n := range ns {
		if loaded(n, ref, digest.String()) {
			continue
		}
		if err := nodeutils.LoadImageArchive(n, bytes.NewReader(archive.Bytes())); err != nil {
			return fmt.Errorf("load the orchestrator's image into node %s: %w", n.String(), err)
		}
	}
	return nil
}

// loaded reports whether node n has ref as the image with this config
// digest (its image id).
func loaded(n nodes.Node, ref, configDigest string) bool {
	id, err := nodeutils.ImageID(n, ref)
	return err == nil && id == configDigest
}
