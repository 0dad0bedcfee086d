#!/usr/bin/env bash
# Installs the Debian packages Sori needs (espeak-ng for the bootstrap corpus, fonts-nanum so
# Hangul renders in plots and the browser, chromium for the browser test, postgresql for the store's
# tests against a real PostgreSQL, which make a throwaway cluster of their own from its initdb and
# pg_ctl and use no other). Installs them when run
# as root; otherwise names what is missing and how to get it.
set -euo pipefail

packages=(espeak-ng fonts-nanum chromium postgresql)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fc-cache -f >/dev/null 2>&1 || true
else
    echo "Sori needs these Debian packages, which are missing: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install ${missing[*]}" >&2
    if [ "${CI:-}" = "true" ]; then exit 1; fi
fi
