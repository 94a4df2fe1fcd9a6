#!/bin/sh
# ./vswitch under valgrind, for the integration suites (make
# test-valgrind): any memory error or leak makes it exit 99, which every
# test checks like any other failed exit.
exec valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect \
	--show-leak-kinds=definite,indirect \
	"$(dirname "$0")/../../vswitch" "$@"
