# A stand-in for OpenWrt's rules.mk: just the variables openwrt/Makefile
# reads, with the values tests/openwrt/run.sh gives (the target's
# compiler and flags, as an SDK sets them; directories of its own).
INCLUDE_DIR := $(TOPDIR)/include
BUILD_DIR ?= $(TOPDIR)/build_dir
DL_DIR ?= $(TOPDIR)/dl
PKG_JOBS ?= -j1
INSTALL_DIR := install -d -m0755
INSTALL_BIN := install -m0755
INSTALL_CONF := install -m0600
CP := cp -fpR
