#!/usr/bin/env bash
# Install what the test suite needs on Debian 12, idempotently, from the repository root:
#   1. Debian packages: PostgreSQL 15 + PostGIS 3 (the test STAC API's database) and
#      Chromium (browser tests of the HTML reports); already installed ones are skipped.
#   2. .venv: the package with its test extras (pip install -e '.[test]').
#   3. .ci/.venv-stacapi: stac-fastapi-pgstac and pypgstac, whose pins clash with the
#      package's own, so they get a venv of their own (tests/servers/stac_api.py finds it).
# Runs unattended (no stdin) as root, or as a user with sudo for the apt step.
set -euo pipefail

# Versions known to work with tests/servers/stac_api.py; bump them together with a test run.
STAC_FASTAPI_PGSTAC_VERSION="7.2.0"
PYPGSTAC_VERSION="0.10.0"
DEBIAN_PACKAGES=(postgresql-15 postgresql-15-postgis-3 chromium)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
python="${PYTHON:-python3}"
pip_flags=(--quiet --disable-pip-version-check)

log() { printf '[.ci/install.sh %4ds] %s\n' "$SECONDS" "$*"; }

# 1. Debian packages ------------------------------------------------------------------------
missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done
if ((${#missing[@]})); then
    as_root=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || { echo "need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
        as_root=(sudo -n)
    fi
    log "apt-get install ${missing[*]}"
    apt_log="$(mktemp)"
    # Quiet unless it fails: chromium alone prints thousands of lines.
    if ! { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
           "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
               --no-install-recommends "${missing[@]}"; } </dev/null >"$apt_log" 2>&1; then
        tail -n 40 "$apt_log" >&2
        echo "apt-get install ${missing[*]} failed (full log: $apt_log)" >&2
        exit 1
    fi
    rm -f "$apt_log"
else
    log "Debian packages already installed: ${DEBIAN_PACKAGES[*]}"
fi

# 2. The package's venv ---------------------------------------------------------------------
log "venv .venv: pip install -e '.[test]'"
[[ -x .venv/bin/python ]] || "$python" -m venv .venv
.venv/bin/python -m pip install "${pip_flags[@]}" -e '.[test]' </dev/null

# 3. The STAC API's venv --------------------------------------------------------------------
log "venv .ci/.venv-stacapi: stac-fastapi-pgstac==$STAC_FASTAPI_PGSTAC_VERSION pypgstac==$PYPGSTAC_VERSION"
[[ -x .ci/.venv-stacapi/bin/python ]] || "$python" -m venv .ci/.venv-stacapi
.ci/.venv-stacapi/bin/python -m pip install "${pip_flags[@]}" \
    "stac-fastapi-pgstac[server]==$STAC_FASTAPI_PGSTAC_VERSION" \
    "pypgstac[psycopg]==$PYPGSTAC_VERSION" </dev/null

log "done"
