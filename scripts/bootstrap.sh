#!/usr/bin/env bash
# Make .venv hold everything the Makefile's targets need, from a fresh machine.
# Installs Debian packages with apt-get only when running as root and something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "bootstrap: please install $* (needs root or your package manager)" >&2
    exit 1
  fi
}

if ! command -v "$PY" >/dev/null; then apt_install python3 python3-venv; fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "bootstrap: Python >= 3.10 needed" >&2; exit 1; }
if ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then apt_install python3-venv; fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'

# Toolchains of the Java and R bindings (clients/java, clients/r): JDK, Debian's protoc and the protobuf-java
# runtime of the same version (3.21), gson/guava for protobuf-java-util's JsonFormat, R with httr and jsonlite.
missing=()
command -v javac >/dev/null || missing+=(default-jdk-headless)
command -v protoc >/dev/null || missing+=(protobuf-compiler)
[ -f /usr/share/java/protobuf.jar ] && [ -f /usr/share/java/protobuf-util.jar ] || missing+=(libprotobuf-java)
[ -f /usr/share/java/gson.jar ] || missing+=(libgoogle-gson-java)
[ -f /usr/share/java/guava.jar ] || missing+=(libguava-java)
command -v R >/dev/null || missing+=(r-base-core)
# The browser of the UI tests (tests/ui, playwright driving Debian's chromium: playwright cannot download one here).
command -v chromium >/dev/null || missing+=(chromium)
# The SFTP artifact store's tests run Debian's sshd as their own server (own config, keys and port).
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
if command -v Rscript >/dev/null; then
  Rscript -e 'quit(status = !requireNamespace("httr", quietly = TRUE))' >/dev/null 2>&1 || missing+=(r-cran-httr)
  Rscript -e 'quit(status = !requireNamespace("jsonlite", quietly = TRUE))' >/dev/null 2>&1 || missing+=(r-cran-jsonlite)
else
  missing+=(r-cran-httr r-cran-jsonlite)
fi
if [ ${#missing[@]} -gt 0 ]; then apt_install --no-install-recommends "${missing[@]}"; fi
# Azurite (the Azure Storage emulator) for the Azure Blob store's tests, at the versions tools/azurite's lock pins.
if [ ! -x tools/azurite/node_modules/.bin/azurite-blob ]; then
  command -v npm >/dev/null || apt_install --no-install-recommends nodejs npm
  (cd tools/azurite && npm ci --no-audit --no-fund --loglevel=error)
fi
touch "$VENV/.bootstrapped"
