package testenv

import (
	"fmt"
	"path/filepath"
)

// giteaAppIni renders the app.ini of a test Gitea: sqlite in dir, loopback
// only, nothing that reaches the internet, no mail, no SSH.
func giteaAppIni(dir string, port int, rootURL, staticRoot string, secrets map[string]string) string {
	data := filepath.Join(dir, "data")
	return fmt.Sprintf(`APP_NAME = PocketIDP test Gitea
RUN_MODE = prod
WORK_PATH = %[1]s

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[2]d
; Clone URLs in API answers come from ROOT_URL, so it must match the port.
ROOT_URL = %[3]s/
; Built without bindata: templates and translations come from the source tree.
STATIC_ROOT_PATH = %[4]s
APP_DATA_PATH = %[5]s
OFFLINE_MODE = true
DISABLE_SSH = true
START_SSH_SERVER = false
LFS_START_SERVER = false
LFS_JWT_SECRET = %[6]s

[database]
DB_TYPE = sqlite3
PATH = %[5]s/gitea.db

[repository]
ROOT = %[1]s/repositories

[security]
INSTALL_LOCK = true
SECRET_KEY = %[7]s
INTERNAL_TOKEN = %[8]s
; Webhook receivers and OAuth2 clients in tests listen on loopback.
ALLOWED_HOST_LIST = *
; Every basic-auth API call hashes the password; the default (50000 rounds)
; costs tens of milliseconds per request on a busy CI core. Throwaway data.
PASSWORD_HASH_ALGO = pbkdf2$1000$50

[oauth2]
JWT_SECRET = %[9]s

[service]
DISABLE_REGISTRATION = true

[actions]
ENABLED = true

[migrations]
; Tests migrate repositories from other loopback servers.
ALLOW_LOCALNETWORKS = true

[cron.update_checker]
ENABLED = false

[mailer]
ENABLED = false

[session]
PROVIDER = memory

[log]
MODE = console
LEVEL = Info
ROOT_PATH = %[1]s/log
`, dir, port, rootURL, staticRoot, data,
		secrets["LFS_JWT_SECRET"], secrets["SECRET_KEY"], secrets["INTERNAL_TOKEN"], secrets["JWT_SECRET"])
}
