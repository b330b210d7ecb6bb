#!/usr/bin/env bash
# Egress Sentinel gateway provisioning for Raspberry Pi OS Bookworm (64-bit).
#
#   hardware/install.sh --mode ap|bridge [options]            install on this Pi (as root)
#   hardware/install.sh --mode ap|bridge --dry-run --out DIR  render every file into DIR, touch nothing else
#
# ap:     Wi-Fi access point for the controller (hostapd + dnsmasq on wlan0),
#         NAT to the Ethernet uplink with nftables; the agent captures wlan0.
# bridge: inline Ethernet bridge br0 of the uplink (eth0) and the controller
#         side (eth1, e.g. a USB adapter); the agent captures the controller port.
# Files are rendered from hardware/templates/{common,MODE}/ (paths as on the Pi).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"

usage() {
  cat <<USAGE
Usage: $0 --mode ap|bridge [--dry-run --out DIR] [options]

  --mode ap|bridge     access point with NAT, or inline Ethernet bridge
  --dry-run            render the files only (needs --out); nothing on this machine changes
  --out DIR            where --dry-run renders (DIR/etc/..., DIR/usr/...)
  --wan IF             uplink interface (default eth0)
  --lan IF             controller side (default: wlan0 in ap mode, eth1 in bridge mode)
  --ssid NAME          Wi-Fi name (ap mode; default egress-sentinel)
  --passphrase TEXT    Wi-Fi WPA2 passphrase, 8-63 characters (default: 20 random characters, printed)
  --country CC         Wi-Fi regulatory country (default NL)
  --channel N          Wi-Fi channel, 2.4 GHz (default 6)
  --profile NAME       policy profile for the agent (default dji)
  --gpio DRIVER        libgpiod, cli or sim (default libgpiod)
  --block              ap mode: enable block mode (egress-block.service fills the nftables
                       sets of denied destinations; fail-open)
  --fail-closed        with --block: the gateway forwards the controller's traffic only
                       while the agent captures it (held within 15 s when the agent stops,
                       crashes or loses its capture, and from boot until it captures)
  -h, --help           this help
USAGE
}

die() {
  echo "install.sh: $*" >&2
  exit 2
}

MODE="" DRY_RUN=0 OUT="" WAN_IF="eth0" LAN_IF="" SSID="egress-sentinel" PASSPHRASE="" COUNTRY="NL"
CHANNEL=6 PROFILE="dji" GPIO="libgpiod" BLOCK=0 FAIL_CLOSED=0
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) MODE="${2:-}"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --out) OUT="${2:-}"; shift 2 ;;
    --wan) WAN_IF="${2:-}"; shift 2 ;;
    --lan) LAN_IF="${2:-}"; shift 2 ;;
    --ssid) SSID="${2:-}"; shift 2 ;;
    --passphrase) PASSPHRASE="${2:-}"; shift 2 ;;
    --country) COUNTRY="${2:-}"; shift 2 ;;
    --channel) CHANNEL="${2:-}"; shift 2 ;;
    --profile) PROFILE="${2:-}"; shift 2 ;;
    --gpio) GPIO="${2:-}"; shift 2 ;;
    --block) BLOCK=1; shift ;;
    --fail-closed) FAIL_CLOSED=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

case "$MODE" in
  ap) LAN_IF="${LAN_IF:-wlan0}" ;;
  bridge) LAN_IF="${LAN_IF:-eth1}" ;;
  *) usage >&2; die "--mode must be ap or bridge" ;;
esac
[ "$DRY_RUN" = 1 ] && [ -z "$OUT" ] && die "--dry-run needs --out DIR"
[ "$DRY_RUN" = 0 ] && [ -n "$OUT" ] && die "--out is for --dry-run only"
for v in "$WAN_IF" "$LAN_IF"; do
  [[ "$v" =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || die "interface name not valid: $v"
done
[ "$WAN_IF" != "$LAN_IF" ] || die "--wan and --lan must differ"
[[ "$SSID" =~ ^[A-Za-z0-9_.\ -]{1,32}$ ]] || die "--ssid: 1-32 letters, digits, space, . _ -"
[[ "$COUNTRY" =~ ^[A-Z]{2}$ ]] || die "--country: two capital letters (NL, BE, DE...)"
[[ "$CHANNEL" =~ ^([1-9]|1[0-3])$ ]] || die "--channel: 1-13"
[[ "$PROFILE" =~ ^[a-z0-9-]+$ ]] || die "--profile: a profile name"
case "$GPIO" in libgpiod | cli | sim) ;; *) die "--gpio must be libgpiod, cli or sim" ;; esac
[ "$BLOCK" = 0 ] || [ "$MODE" = ap ] || die "--block works in ap mode only (bridge mode: not yet)"
[ "$FAIL_CLOSED" = 0 ] || [ "$BLOCK" = 1 ] || die "--fail-closed needs --block (the block helper renews the watch)"
if [ -z "$PASSPHRASE" ]; then
  # Finite input all the way (no head on an endless stream: pipefail would see SIGPIPE).
  PASSPHRASE="$(head -c 48 /dev/urandom | base64 -w0 | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c1-20)"
  GENERATED_PASSPHRASE=1
else
  GENERATED_PASSPHRASE=0
fi
[[ "$PASSPHRASE" =~ ^[!-~]{8,63}$ ]] || die "--passphrase: 8-63 printable characters, no spaces"

# The controller's network in access-point mode (the end-to-end test uses the same).
LAN_NET="192.168.42.0/24" LAN_ADDR="192.168.42.1" DHCP_FIRST="192.168.42.10" DHCP_LAST="192.168.42.100"
if [ "$MODE" = ap ]; then
  CAPTURE_IF="$LAN_IF" HTTP_ADDR="$LAN_ADDR:8080" AFTER="hostapd.service dnsmasq.service"
  UNMANAGED="interface-name:$LAN_IF;interface-name:$WAN_IF"
else
  CAPTURE_IF="$LAN_IF" HTTP_ADDR="0.0.0.0:8080" AFTER="systemd-networkd.service"
  UNMANAGED="interface-name:br0;interface-name:$LAN_IF;interface-name:$WAN_IF"
fi
# Block mode: the agent finds the helper's socket in egress.env (empty: block mode off).
BLOCK_SOCKET=""
[ "$BLOCK" = 1 ] && BLOCK_SOCKET="/run/egress-block/block.sock"
# Fail-closed: the forward chain drops the controller's traffic unless the agent's
# watch of its interface is in the `watched` set (renewed by the agent through the helper).
FAIL_CLOSED_ENV="" FAIL_CLOSED_RULE="# fail-closed off (install.sh --block --fail-closed turns it on)"
if [ "$FAIL_CLOSED" = 1 ]; then
  FAIL_CLOSED_ENV=1
  FAIL_CLOSED_RULE="iifname \"$LAN_IF\" iifname != @watched counter drop comment \"fail-closed: the agent is not watching\""
fi

# Replace @NAME@ placeholders; values are checked above, so none holds '|' or a newline.
render_file() {
  sed -e "s|@MODE@|$MODE|g" -e "s|@WAN_IF@|$WAN_IF|g" -e "s|@LAN_IF@|$LAN_IF|g" \
    -e "s|@CAPTURE_IF@|$CAPTURE_IF|g" -e "s|@SSID@|$SSID|g" -e "s|@PASSPHRASE@|$PASSPHRASE|g" \
    -e "s|@COUNTRY@|$COUNTRY|g" -e "s|@CHANNEL@|$CHANNEL|g" -e "s|@PROFILE@|$PROFILE|g" \
    -e "s|@GPIO@|$GPIO|g" -e "s|@LAN_NET@|$LAN_NET|g" -e "s|@LAN_ADDR@|$LAN_ADDR|g" \
    -e "s|@DHCP_FIRST@|$DHCP_FIRST|g" -e "s|@DHCP_LAST@|$DHCP_LAST|g" -e "s|@HTTP_ADDR@|$HTTP_ADDR|g" \
    -e "s|@AFTER@|$AFTER|g" -e "s|@UNMANAGED@|$UNMANAGED|g" -e "s|@BLOCK_SOCKET@|$BLOCK_SOCKET|g" \
    -e "s|@FAIL_CLOSED@|$FAIL_CLOSED_ENV|g" -e "s|@FAIL_CLOSED_RULE@|$FAIL_CLOSED_RULE|g" "$1"
}

# Render templates/common and templates/MODE into $1 (a directory standing for /).
render_all() {
  local dest="$1" src rel mode
  for src in "$HERE/templates/common" "$HERE/templates/$MODE"; do
    while IFS= read -r -d '' f; do
      rel="${f#"$src"/}"
      mode=0644
      [ -x "$f" ] && mode=0755
      [[ "$rel" == etc/hostapd/* ]] && mode=0600
      install -d -m 0755 "$dest/$(dirname "$rel")"
      render_file "$f" >"$dest/$rel"
      chmod "$mode" "$dest/$rel"
      echo "  $rel"
    done < <(find "$src" -type f -print0 | sort -z)
  done
}

if [ "$DRY_RUN" = 1 ]; then
  mkdir -p "$OUT"
  echo "== rendering $MODE mode into $OUT (dry run: nothing else is changed)"
  render_all "$OUT"
  exit 0
fi

# ---- a real install (root, on the Pi) ----
[ "$(id -u)" = 0 ] || die "a real install needs root (or use --dry-run --out DIR)"
# shellcheck source=/dev/null
. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] || echo "install.sh: warning: made for Raspberry Pi OS Bookworm, this is ${PRETTY_NAME:-unknown}" >&2
NODE_VERSION="$(node --version 2>/dev/null || true)"
[[ "$NODE_VERSION" =~ ^v(2[0-9]|[3-9][0-9])\. ]] || die "Node.js 20.19 or newer is needed (found ${NODE_VERSION:-none}); see hardware/README.md, first boot"
[ -f "$REPO/agent/dist/cli/bin.js" ] || die "build the agent first: pnpm install --frozen-lockfile && pnpm build (in $REPO)"

echo "== packages"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq tcpdump nftables gpiod iproute2 >/dev/null
[ "$MODE" = ap ] && apt-get install -y -qq hostapd dnsmasq >/dev/null

echo "== user egress and group gpio"
getent group gpio >/dev/null || groupadd --system gpio
id egress >/dev/null 2>&1 || useradd --system --home-dir /var/lib/egress --no-create-home --shell /usr/sbin/nologin egress
usermod -a -G gpio egress

echo "== agent into /opt/egress"
install -d -m 0755 /opt/egress
cp -a "$REPO/package.json" "$REPO/node_modules" "$REPO/agent" "$REPO/hardware" /opt/egress/
[ -f "$REPO/dashboard/dist/index.html" ] || die "build the dashboard first: pnpm build (in $REPO)"
install -d -m 0755 /opt/egress/dashboard
cp -a "$REPO/dashboard/dist" /opt/egress/dashboard/

echo "== configuration"
render_all /
sysctl --system >/dev/null

echo "== services"
systemctl daemon-reload
if [ "$MODE" = ap ]; then
  systemctl unmask hostapd
  systemctl enable hostapd dnsmasq
fi
systemctl enable systemd-networkd nftables egress-agent
[ "$BLOCK" = 1 ] && systemctl enable egress-block
echo "== done: reboot to start the gateway in $MODE mode (egress selftest --interface $CAPTURE_IF checks it)"
if [ "$MODE" = ap ] && [ "$GENERATED_PASSPHRASE" = 1 ]; then
  echo "   Wi-Fi \"$SSID\", passphrase: $PASSPHRASE (also in /etc/hostapd/hostapd.conf)"
fi
