package orchestrator

// routes registers what the orchestrator serves; everything else is
// notServed (501). Patterns use net/http's method and wildcard syntax.
func (s *Server) routes() {
	for pattern, op := range apiRoutes() {
		s.handle(pattern, op)
	}
	s.mux.HandleFunc("GET /healthz", healthz)
	s.mux.HandleFunc("GET /{$}", s.page)
	s.mux.HandleFunc("/", s.notServed)
}

// apiRoutes maps each served route of the API to its operation.
func apiRoutes() map[string]operation {
	const org = "/orgs/{orgId}"
	const app = org + "/apps/{appId}"
	const env = app + "/envs/{envId}"
	return map[string]operation{
		"GET /current-user": opCurrentUser,
		"GET /orgs":         opListOrgs,
		"GET " + org:        opGetOrg,

		"GET " + org + "/env-types":                opListEnvTypes,
		"POST " + org + "/env-types":               opCreateEnvType,
		"GET " + org + "/env-types/{envTypeId}":    opGetEnvType,
		"DELETE " + org + "/env-types/{envTypeId}": opDeleteEnvType,

		"GET " + org + "/apps":  opListApps,
		"POST " + org + "/apps": opCreateApp,
		"GET " + app:            opGetApp,
		"DELETE " + app:         opDeleteApp,

		"GET " + app + "/envs":                      opListEnvs,
		"POST " + app + "/envs":                     opCreateEnv,
		"GET " + env:                                opGetEnv,
		"DELETE " + env:                             opDeleteEnv,
		"PUT " + env + "/from_deploy_id":            opRebaseEnv,
		"GET " + env + "/resources":                 opListActiveResources,
		"GET " + env + "/runtime":                   opRuntime,
		"POST " + env + "/resources/graph":          opResourceGraph,
		"GET " + env + "/deploys":                   opListDeploys,
		"POST " + env + "/deploys":                  opCreateDeploy,
		"GET " + env + "/deploys/{deployId}":        opGetDeploy,
		"GET " + env + "/deploys/{deployId}/errors": opListDeployErrors,

		"GET " + app + "/values":          opListValues,
		"POST " + app + "/values":         opCreateValue,
		"PUT " + app + "/values/{key}":    opReplaceValue,
		"PATCH " + app + "/values/{key}":  opPatchValue,
		"DELETE " + app + "/values/{key}": opDeleteValue,

		"GET " + app + "/sets":          opListSets,
		"GET " + app + "/sets/{setId}":  opGetSet,
		"POST " + app + "/sets/{setId}": opUpdateSet,

		"GET " + app + "/deltas":             opListDeltas,
		"POST " + app + "/deltas":            opCreateDelta,
		"GET " + app + "/deltas/{deltaId}":   opGetDelta,
		"PATCH " + app + "/deltas/{deltaId}": opPatchDelta,

		"GET " + org + "/resources/types":                               opListResourceTypes,
		"GET " + org + "/resources/classes":                             opListClasses,
		"POST " + org + "/resources/types/{typeId}/classes":             opCreateClass,
		"GET " + org + "/resources/types/{typeId}/classes/{classId}":    opGetClass,
		"DELETE " + org + "/resources/types/{typeId}/classes/{classId}": opDeleteClass,

		"GET " + org + "/resources/defs":                                  opListDefs,
		"POST " + org + "/resources/defs":                                 opCreateDef,
		"GET " + org + "/resources/defs/{defId}":                          opGetDef,
		"PUT " + org + "/resources/defs/{defId}":                          opUpdateDef,
		"PATCH " + org + "/resources/defs/{defId}":                        opPatchDef,
		"DELETE " + org + "/resources/defs/{defId}":                       opDeleteDef,
		"PUT " + org + "/resources/defs/{defId}/criteria":                 opPutCriteria,
		"POST " + org + "/resources/defs/{defId}/criteria":                opAddCriteria,
		"DELETE " + org + "/resources/defs/{defId}/criteria/{criteriaId}": opDeleteCriteria,
		"GET " + org + "/resources/defs/{defId}/resources":                opListDefResources,

		"GET " + org + "/agents":                                 opListAgents,
		"POST " + org + "/agents":                                opCreateAgent,
		"PATCH " + org + "/agents/{agentId}":                     opPatchAgent,
		"DELETE " + org + "/agents/{agentId}":                    opDeleteAgent,
		"GET " + org + "/agents/{agentId}/keys":                  opListKeys,
		"POST " + org + "/agents/{agentId}/keys":                 opCreateKey,
		"DELETE " + org + "/agents/{agentId}/keys/{fingerprint}": opDeleteKey,

		"GET " + org + "/artefact-versions":                     opListArtefactVersions,
		"POST " + org + "/artefact-versions":                    opCreateArtefactVersion,
		"GET " + org + "/artefact-versions/{artefactVersionId}": opGetArtefactVersion,
	}
}
