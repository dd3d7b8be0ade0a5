package orchestrator

import (
	"fmt"
	"net/http"
	"strings"
)

func (v *ArtefactVersion) json() map[string]any {
	return map[string]any{
		"type": v.Type, "id": v.ID, "artefact_id": v.ArtefactID, "name": v.Name, "version": v.Version,
		"ref": v.Ref, "commit": v.Commit, "digest": v.Digest, "archived": false,
		"created_at": v.CreatedAt, "created_by": v.CreatedBy, "updated_at": v.CreatedAt, "updated_by": v.CreatedBy,
	}
}

func opListArtefactVersions(rq *request) (int, any) {
	name, ref := rq.query("name"), rq.query("reference")
	out := []map[string]any{}
	for _, v := range rq.st.Artefacts {
		if name != "" && v.Name != name || ref != "" && !refers(ref, v) {
			continue
		}
		out = append(out, v.json())
	}
	return http.StatusOK, out
}

// refers reports whether an image reference (name:version@digest, parts
// optional) names v.
func refers(ref string, v *ArtefactVersion) bool {
	name, digest, _ := strings.Cut(ref, "@")
	version := ""
	// The tag follows the last colon after the last slash (a registry
	// host may have a port).
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, version = name[:i], name[i+1:]
	}
	return name == v.Name && (version == "" || version == v.Version) && (digest == "" || digest == v.Digest)
}

func opCreateArtefactVersion(rq *request) (int, any) {
	var in struct {
		Type    string `json:"type"`
		Name    string `json:"name"`
		Version string `json:"version"`
		Ref     string `json:"ref"`
		Commit  string `json:"commit"`
		Digest  string `json:"digest"`
	}
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if in.Type != "container" {
		return badRequest(fmt.Sprintf("Artefact type %q is not served by the local orchestrator: register container images (type container).", in.Type))
	}
	if in.Name == "" {
		return badRequest("An artefact version needs a name (the image without its tag).")
	}
	if vcs := rq.query("vcs"); (vcs == "" || vcs == "git") && in.Ref != "" && !strings.HasPrefix(in.Ref, "refs/") {
		return badRequest(fmt.Sprintf("ref %q does not start with refs/: give the full git ref, e.g. refs/heads/main.", in.Ref))
	}
	if rq.query("dry_run") == "true" {
		return http.StatusNoContent, nil
	}
	artefactID := ""
	for _, v := range rq.st.Artefacts {
		if v.Name == in.Name {
			artefactID = v.ArtefactID
			break
		}
	}
	if artefactID == "" {
		artefactID = newID()
	}
	v := &ArtefactVersion{ID: newID(), ArtefactID: artefactID, Type: in.Type, Name: in.Name, Version: in.Version,
		Ref: in.Ref, Commit: in.Commit, Digest: in.Digest, CreatedAt: rq.now(), CreatedBy: UserID}
	rq.st.Artefacts = append(rq.st.Artefacts, v)
	return http.StatusOK, v.json()
}

func opGetArtefactVersion(rq *request) (int, any) {
	for _, v := range rq.st.Artefacts {
		if v.ID == rq.param("artefactVersionId") {
			return http.StatusOK, v.json()
		}
	}
	return notFound("Artefact version " + rq.param("artefactVersionId"))
}
