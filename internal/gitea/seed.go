package gitea

// Forget drops this install's Gitea records from the state without asking
// Gitea: for a `down` that deletes the whole cluster, Gitea included.
func (s *Seeder) Forget() error {
	org := s.cfg.Org
	for _, o := range []struct{ kind, id string }{
		{KindOrgVariable, org + "/" + VarCloudProvider},
		{KindOrgVariable, org + "/" + VarHumanitecOrg},
		{KindOrgVariable, org + "/" + VarHumanitecApp},
		{KindOrgSecret, org + "/" + SecretToken},
		{KindRepo, s.RepoFullName()},
		{KindOrg, org},
	} {
		if err := s.store.RemoveObject(o.kind, o.id); err != nil {
			return err
		}
	}
	for _, k := range []string{KeyBackstageCommit, KeyBackstageSource, KeyTriggerCommit, KeyTokenFingerprint} {
		if err := s.store.SetValue(k, ""); err != nil {
			return err
		}
	}
	return nil
}
