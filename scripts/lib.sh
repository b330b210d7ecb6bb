# shellcheck shell=bash
# Shared by scripts/demo and scripts/test: get pnpm and the workspace ready.
# Sourced, not run.

ensure_pnpm() {
  if ! command -v pnpm >/dev/null 2>&1; then
    echo "== installing pnpm 10 (pnpm 11 needs Node 22)"
    npm install -g pnpm@10 >/dev/null
  fi
}

install_workspace() {
  echo "== installing dependencies (pnpm install)"
  # node-gyp (the optional GPIO binding) builds against Debian's Node headers instead of downloading them.
  [ -d /usr/include/node ] && export npm_config_nodedir=/usr
  pnpm install --frozen-lockfile --reporter=append-only 2>&1 | tail -n 3
  echo "== building (tsc -b)"
  pnpm run --silent build
}

# Debian packages the tests drive as real peers; installed only when running as root with apt.
TEST_APT_PACKAGES="tcpdump tshark tcpreplay dnsutils dnsmasq-base iputils-ping iproute2 ethtool openssl curl python3 time libndpi-bin mosquitto mosquitto-clients chromium fonts-noto-color-emoji ngtcp2-client ngtcp2-server nftables unzip procps gpiod libgpiod-dev shellcheck influxdb"

install_test_packages() {
  local missing=""
  for bin in tcpdump tshark editcap dumpcap tcprewrite dig dnsmasq ping ip ethtool openssl curl python3 mosquitto mosquitto_sub \
    chromium gtlsclient gtlsserver nft unzip pgrep gpioset gpiomon shellcheck influxd; do
    command -v "$bin" >/dev/null 2>&1 || missing="$missing $bin"
  done
  # The dashboard's country flags in the browser tests' screenshots.
  [ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing="$missing fonts-noto-color-emoji"
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing test tools with apt-get (missing:$missing)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq $TEST_APT_PACKAGES >/dev/null
    # The Debian package starts a broker on every interface; tests start their own on 127.0.0.1.
    systemctl disable --now mosquitto >/dev/null 2>&1 || true
    pkill -x mosquitto 2>/dev/null || true
    # Likewise influxdb (every interface, port 8086); the history tests start their own on 127.0.0.1.
    systemctl disable --now influxdb >/dev/null 2>&1 || true
  else
    echo "!! missing test tools:$missing (run as root to install them with apt-get: $TEST_APT_PACKAGES)" >&2
  fi
}
