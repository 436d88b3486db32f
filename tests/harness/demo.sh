#!/usr/bin/env bash
# `make demo`: deploy the whole stack into one local systemd container and print how to reach it.
# Re-running it converges the same container again (fast no-op); `make demo-destroy` removes it.
# DEMO_RELEASE picks the Debian release of the container: trixie (Debian 13, the default) or bookworm (12).
set -euo pipefail
cd "$(dirname "$0")/../.."

name=homeserver-demo
tls_port="${DEMO_TLS_PORT:-8443}"
state=.cache/demo
cache="${HS_CACHE_DIR:-/var/cache/homeserver-synapse}"
mkdir -p "$state" "$cache/apt/partial" "$cache/pip"
chmod 700 "$state"

release="${DEMO_RELEASE:-trixie}"
image=$(tests/harness/build_image.sh "$release")

if ! docker container inspect "$name" >/dev/null 2>&1; then
  echo ">> starting the demo container $name (nginx on 127.0.0.1:$tls_port)"
  docker run -d --name "$name" --hostname "$name" \
    --cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt seccomp=unconfined --cgroupns host \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
    -v "$cache/apt:/var/cache/apt/archives:rw" -v "$cache/pip:/root/.cache/pip:rw" \
    -p "127.0.0.1:$tls_port:443" \
    "$image" /lib/systemd/systemd >/dev/null
elif [ "$(docker container inspect -f '{{.State.Running}}' "$name")" != true ]; then
  docker start "$name" >/dev/null
fi
if ! docker exec "$name" grep -q "VERSION_CODENAME=$release" /etc/os-release; then
  echo "!! $name runs $(docker exec "$name" sh -c '. /etc/os-release; echo "$PRETTY_NAME"'), not $release." >&2
  echo "!! Run 'make demo-destroy' then 'make demo' (DEMO_RELEASE=$release) to recreate it (its data is lost)." >&2
  exit 1
fi
if [ -z "$(docker port "$name" 443/tcp 2>/dev/null)" ]; then
  echo "!! $name was created before nginx was part of the demo: its port 443 is not published." >&2
  echo "!! Run 'make demo-destroy' then 'make demo' to recreate it (the demo's data is lost)." >&2
  exit 1
fi
for _ in $(seq 1 30); do
  docker exec "$name" systemctl is-system-running 2>/dev/null | grep -qE 'running|degraded' && break
  sleep 1
done

# Secrets for the demo, generated once and kept on this machine (a real deployment uses Ansible Vault).
if [ ! -s "$state/secrets.yml" ]; then
  umask 077
  printf 'demo_database_password: %s\n' "$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    >"$state/secrets.yml"
fi
if [ ! -s "$state/admin-credentials" ]; then
  umask 077
  printf 'user=admin\npassword=%s\n' "$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')" \
    >"$state/admin-credentials"
fi

echo ">> deploying playbooks/site.yml into $name"
ansible-playbook -i inventories/demo playbooks/site.yml -e "@$state/secrets.yml" -e "demo_tls_port=$tls_port"

echo ">> copying the demo's private CA to $state/ca.pem"
docker cp "$name:/etc/ssl/homeserver/ca.pem" "$state/ca.pem" >/dev/null

echo ">> creating the admin account"
admin_password=$(sed -n 's/^password=//p' "$state/admin-credentials")
server_name=$(docker exec "$name" sed -n 's/^server_name: //p' /etc/matrix-synapse/homeserver.yaml)
docker exec "$name" /opt/venvs/matrix-synapse/bin/register_new_matrix_user \
  -c /etc/matrix-synapse/homeserver.yaml -u admin -p "$admin_password" --admin --exists-ok \
  http://127.0.0.1:8008 >/dev/null
printf 'user_id=@admin:%s\nhomeserver=https://127.0.0.1:%s\n' "$server_name" "$tls_port" >>"$state/admin-credentials"
sed -i '/^homeserver=http:/d' "$state/admin-credentials"
sort -u -o "$state/admin-credentials" "$state/admin-credentials"

echo ">> checking from the host: a password login as the admin through nginx (TLS, the demo CA)"
python3 - "$tls_port" "$admin_password" "$state/ca.pem" <<'PY'
import json, ssl, sys, urllib.request
port, password, cafile = sys.argv[1:4]
context = ssl.create_default_context(cafile=cafile)
https = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
urllib.request.install_opener(https)
base = f"https://127.0.0.1:{port}"
versions = json.load(urllib.request.urlopen(base + "/_matrix/client/versions", timeout=10))
body = json.dumps({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "admin"},
                   "password": password}).encode()
request = urllib.request.Request(base + "/_matrix/client/v3/login", data=body,
                                 headers={"Content-Type": "application/json"})
login = json.load(urllib.request.urlopen(request, timeout=30))
logout = urllib.request.Request(base + "/_matrix/client/v3/logout", data=b"{}", method="POST",
                                headers={"Authorization": "Bearer " + login["access_token"]})
urllib.request.urlopen(logout, timeout=10)
print(f"   logged in as {login['user_id']} (spec versions up to {versions['versions'][-1]})")
PY

cat <<EOT

The demo homeserver is up.
  Homeserver URL:   https://127.0.0.1:$tls_port   (nginx + TLS, published on this machine's loopback only)
  Demo CA:          $(pwd)/$state/ca.pem   (trust it in your client, e.g. curl --cacert, SSL_CERT_FILE)
  Server name:      $server_name
  Debian release:   $(docker exec "$name" sh -c '. /etc/os-release; echo "$PRETTY_NAME"')
  Admin account:    @admin:$server_name
  Credentials file: $(pwd)/$state/admin-credentials
Point a Matrix client (Element, nheko, matrix-commander) at the homeserver URL and log in as admin.
Shell into the container: docker exec -it $name bash   (journalctl -u matrix-synapse)
Remove it:               make demo-destroy
EOT
