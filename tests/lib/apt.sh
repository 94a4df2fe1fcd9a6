# shellcheck shell=bash
# apt_need PKG...: install those of the Debian packages PKG that are
# missing (noninteractive, no recommends), saying which through say().
# For the scripts of tests/cross.
apt_need() {
	local p need=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q 'install ok installed' || need+=("$p")
	done
	[ ${#need[@]} -gt 0 ] || return 0
	say "installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${need[@]}" >/dev/null
}
