# A stand-in for OpenWrt's package.mk: the steps of a package build that
# openwrt/Makefile's definitions take part in, run for real.
#   make prepare   the source tarball from DL_DIR, unpacked
#   make compile   Build/Compile in the unpacked tree
#   make install   Package/NAME/install into $(DEST)
#   make info      what OpenWrt reads of the package: DEPENDS, conffiles
PKG_BUILD_DIR ?= $(BUILD_DIR)/$(PKG_NAME)-$(PKG_VERSION)

define BuildPackage
$(eval $(Package/$(1)))
prepare:
	rm -rf $(PKG_BUILD_DIR)
	mkdir -p $(BUILD_DIR)
	tar -xzf $(DL_DIR)/$(PKG_SOURCE) -C $(BUILD_DIR)
compile:
	$(call Build/Compile)
install:
	$(call Package/$(1)/install,$(DEST))
info:
	@echo 'DEPENDS=$(strip $(DEPENDS))'
	@echo 'CONFFILES=$(strip $(Package/$(1)/conffiles))'
	@echo 'SOURCE=$(PKG_SOURCE)'
.PHONY: prepare compile install info
endef
