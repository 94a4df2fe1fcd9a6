#!/bin/bash
# make install into a staging directory (DESTDIR), as a packager runs it:
# the files and their modes, a stripped binary, an installed configuration
# vswitch takes as it is (sockets in /run/vswitch), a manual page that
# groff and mandoc read without a warning, a systemd unit systemd-analyze
# verifies without one, and a second install that keeps the
# configuration an administrator has edited.
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
# Each prints nothing when the file is clean.
silent() { [ -z "$("$@" 2>&1)" ]; }
man_clean() {
	silent groff -mdoc -ww -z "$1" && silent mandoc -T lint -W warning "$1"
}
# The unit as installed, its commands pointed into the staging directory
# (verify checks that they are executables).
unit_clean() {
	sed "s|/usr/sbin/vswitch|$dest/usr/sbin/vswitch|" "$1" \
		>"$dest/vswitch.service"
	silent systemd-analyze verify --man=no "$dest/vswitch.service"
}

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
man=$dest/usr/share/man/man8/vswitch.8
unit=$dest/usr/lib/systemd/system/vswitch.service
check "/usr/share/man/man8/vswitch.8, 0644" mode "$man" 644
check "... without a warning from groff or mandoc" man_clean "$man"
check "/usr/lib/systemd/system/vswitch.service, 0644" mode "$unit" 644
check "... runs /usr/sbin/vswitch" grep -qx \
	'ExecStart=/usr/sbin/vswitch -c /etc/vswitch/config.ini' "$unit"
check "... which systemd-analyze verifies without a warning" \
	unit_clean "$unit"
echo "; edited" >>"$conf"
make -s -C "$top" --no-print-directory install DESTDIR="$dest" \
	PREFIX=/usr >/dev/null
check "a second install keeps the edited configuration" \
	grep -qx '; edited' "$conf"
check_summary install
