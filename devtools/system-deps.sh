#!/usr/bin/env bash
# Makes sure the system packages named on the command line are installed (Debian/Ubuntu).
# As root, missing ones are installed with apt-get; otherwise it says how, in one line, and fails.
set -euo pipefail

declare -A binary_of=([mosquitto]=mosquitto [mosquitto-clients]=mosquitto_pub [chromium]=chromium [nginx]=nginx [erlang-base]=erl [rabbitmq-server]=rabbitmq-server)
declare -A path_hint=([mosquitto]=/usr/sbin/mosquitto [mosquitto-clients]=/usr/bin/mosquitto_pub [chromium]=/usr/bin/chromium [nginx]=/usr/sbin/nginx [erlang-base]=/usr/bin/erl [rabbitmq-server]=/usr/lib/rabbitmq/bin/rabbitmq-server)

missing=()
for pkg in "$@"; do
  bin=${binary_of[$pkg]:-$pkg}
  if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "${path_hint[$pkg]:-/nonexistent}" ]; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing system packages: ${missing[*]}, and this is not a Debian/Ubuntu system: install them with your package manager." >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian packages enable a system-wide broker on :1883, a web server on :80 and a
# RabbitMQ node on :5672; the project runs its own (tests start them on loopback ports).
for service in mosquitto nginx rabbitmq-server; do
  if [[ " ${missing[*]} " == *" $service "* ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now "$service" >/dev/null 2>&1 || true
  fi
done
