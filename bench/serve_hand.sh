#!/usr/bin/env bash
# bench/serve's side (b): the hand install of ../shared/seeds/003_236d901fc08055c8.txt, run inside its container
# as root: serve_hand.sh SYNAPSE_VERSION (with /root/limits.yml, the rate limits both sides share).
set -euxo pipefail
version=$1
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql nginx python3-venv libpq5 openssl >/dev/null
# PostgreSQL Setup and Database Tuning, as the seed gives them.
runuser -u postgres -- psql -v ON_ERROR_STOP=1 <<'SQL'
CREATE USER synapse WITH PASSWORD 'secretpassword';
CREATE DATABASE synapse ENCODING 'UTF8' LC_COLLATE='C' LC_CTYPE='C' template=template0 OWNER synapse;
SQL
conf=$(ls /etc/postgresql/*/main/postgresql.conf)
cat >>"$conf" <<'PG'
shared_buffers = 256MB
effective_cache_size = 768MB
maintenance_work_mem = 64MB
work_mem = 16MB
PG
systemctl restart postgresql
# Python (pip): a virtual environment in the user's home, then --generate-config.
useradd --create-home --shell /bin/bash synapse
# (pip runs as root for the image's wheelhouse under /root; the virtualenv is then the user's. The seed turns URL
# previews on, which needs the url-preview extra: without it Synapse refuses to start.)
python3 -m venv /home/synapse/synapse-venv
/home/synapse/synapse-venv/bin/pip install --quiet "matrix-synapse[url-preview]==$version" psycopg2-binary
chown -R synapse: /home/synapse/synapse-venv
runuser -u synapse -- bash -euxc "cd ~ && ~/synapse-venv/bin/python -m synapse.app.homeserver --server-name bench.test \
  --config-path homeserver.yaml --generate-config --report-stats=no"
mkdir -p /data/media_store && chown synapse: /data/media_store
install -o synapse -m 0600 /root/limits.yml /home/synapse/limits.yml
# The seed's homeserver.yaml essentials and cache section over the generated file, plus the shared rate limits.
runuser -u synapse -- /home/synapse/synapse-venv/bin/python - <<'PY'
import yaml
path = "/home/synapse/homeserver.yaml"
config = yaml.safe_load(open(path))
config.update({
    "public_baseurl": "https://bench.test/",
    "database": {"name": "psycopg2", "args": {"user": "synapse", "password": "secretpassword", "database": "synapse",
                                              "host": "localhost", "cp_min": 5, "cp_max": 10}},
    "listeners": [{"port": 8008, "tls": False, "type": "http", "x_forwarded": True,
                   "resources": [{"names": ["client", "federation"], "compress": False}]}],
    "enable_registration": False, "enable_registration_without_verification": False,
    "media_store_path": "/data/media_store", "max_upload_size": "50M",
    "url_preview_enabled": True,
    "url_preview_ip_range_blacklist": ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
    "caches": {"global_factor": 1.0, "per_cache_factors": {"get_users_in_room": 2.0, "get_current_state_ids": 2.0}},
    "trusted_key_servers": [],
})
config.update(yaml.safe_load(open("/home/synapse/limits.yml")))
yaml.safe_dump(config, open(path, "w"))
# The shared secret for the benchmark's registrations, in a file as on (a).
open("/home/synapse/bench-secret", "w").write(config["registration_shared_secret"])
PY
cat >/etc/systemd/system/synapse-hand.service <<'UNIT'
[Unit]
Description=Synapse, started as the seed starts it
After=postgresql.service
[Service]
User=synapse
WorkingDirectory=/home/synapse
ExecStart=/home/synapse/synapse-venv/bin/python -m synapse.app.homeserver --config-path homeserver.yaml
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now synapse-hand
# Nginx Reverse Proxy: the seed's server block, a self-signed certificate in place of Let's Encrypt's.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench.test -addext subjectAltName=IP:127.0.0.1,DNS:bench.test \
  -keyout /etc/ssl/private/bench.key -out /root/bench-ca.pem 2>/dev/null
cat >/etc/nginx/sites-available/matrix <<'NGINX'
server {
    listen 443 ssl http2;
    server_name bench.test;
    ssl_certificate /root/bench-ca.pem;
    ssl_certificate_key /etc/ssl/private/bench.key;
    location ~ ^(/_matrix|/_synapse/client) {
        proxy_pass http://localhost:8008;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Host $host;
        client_max_body_size 50M;
    }
}
NGINX
ln -sf /etc/nginx/sites-available/matrix /etc/nginx/sites-enabled/matrix
nginx -t && systemctl reload nginx
python3 -c 'import time, urllib.request
for _ in range(120):
    try:
        urllib.request.urlopen("http://127.0.0.1:8008/health", timeout=5); break
    except OSError:
        time.sleep(1)
else:
    raise SystemExit("Synapse did not answer /health")'
