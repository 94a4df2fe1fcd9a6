#!/bin/bash
# make install into a staging directory (DESTDIR), as a packager runs it:
# the files and their modes, a stripped binary, an installed configuration
# vswitch takes as it is (sockets in /run/vswitch), and a second install
# that keeps the configuration an administrator has edited.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dest=$(mktemp -d /tmp/vswitch-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
# shellcheck source-path=SCRIPTDIR source=../lib/check.sh
. "$top/tests/lib/check.sh"
mode() { [ "$(stat -c %a "$1")" = "$2" ]; }
stripped() { ! readelf -S "$1" | grep -q '\.symtab'; }
takes() { "$dest/usr/sbin/vswitch" -t -c "$1" >/dev/null; }
socket_dir() { grep -qx 'socket_dir = /run/vswitch' "$1"; }

make -s -C "$top" --no-print-directory install DESTDIR="$dest" \
	PREFIX=/usr >/dev/null
bin=$dest/usr/sbin/vswitch
conf=$dest/etc/vswitch/config.ini
check "/usr/sbin/vswitch, 0755" mode "$bin" 755
check "... stripped" stripped "$bin"
check "/etc/vswitch/config.ini.example, 0644" \
	mode "$dest/etc/vswitch/config.ini.example" 644
check "/etc/vswitch/config.ini, 0644" mode "$conf" 644
check "... with its sockets in /run/vswitch" socket_dir "$conf"
check "... which vswitch -t takes" takes "$conf"
echo "; edited" >>"$conf"
make -s -C "$top" --no-print-directory install DESTDIR="$dest" \
	PREFIX=/usr >/dev/null
check "a second install keeps the edited configuration" \
	grep -qx '; edited' "$conf"
check_summary install
