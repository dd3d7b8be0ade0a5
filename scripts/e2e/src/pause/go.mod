module example.com/pocketidp-e2e/pause

go 1.26
