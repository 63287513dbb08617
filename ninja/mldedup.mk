# mldedup.mk: GNU Make rules to index CoreML exports, combine them and verify the result,
# redoing only what changed in content. In your Makefile:
#
#   MLDEDUP_EXPORT := exports    # the directory of ANEMLL exports (required)
#   MLDEDUP_BUILD := build       # combined packages, stamps/ and the store go here (default build)
#   MLDEDUP := /usr/bin/mldedup  # default: mldedup on PATH
#   include path/to/ninja/mldedup.mk
#   all: mldedup-all             # the combined packages
#   check: mldedup-check         # verify them
#
# This file has `mldedup make` write $(MLDEDUP_BUILD)/mldedup-rules.mk from the export
# directory's layout (again whenever a package is added or removed there) and includes it;
# each output also gets a phony target of its name. The store is $(MLDEDUP_STORE), never a
# target or prerequisite; parallel jobs (-j) share it. $(MLDEDUP_BUILD)/mldedup.conf names it,
# so mldedup commands run in that directory (stats, explain, ...) use it too. Recipes print one line each (V=1: the
# commands); a failed one exits non-zero and leaves no new target (.DELETE_ON_ERROR-safe).
# Index and combine write their stamp only when its content changes, and touch STAMP.ran:
# the step itself does not run again, and what reads STAMP runs only when STAMP changed.
# A combined package's files are targets of its combine: one missing runs the combine again,
# and verify, which reads them, runs again when one changes.

MLDEDUP ?= mldedup
MLDEDUP_BUILD ?= build
MLDEDUP_STORE ?= $(MLDEDUP_BUILD)/mldedup-store.db
MLDEDUP_RULES := $(MLDEDUP_BUILD)/mldedup-rules.mk
ifndef MLDEDUP_EXPORT
$(error mldedup.mk: set MLDEDUP_EXPORT to the export directory before including it)
endif

.DELETE_ON_ERROR:
mldedup_goal := $(.DEFAULT_GOAL)

mldedup_q = $(if $(V),,@printf '  %-8s %s\n' $(1) $(2);)
# The recipes of the generated rules; their targets carry pkg, pkgout and sources.
mldedup_index = $(call mldedup_q,INDEX,$(pkg)) $(MLDEDUP) index -q --store '$(MLDEDUP_STORE)' \
  --stamp $(@:.ran=) --depfile $(@:.ran=.d) --depfile-target $@ $(pkg) && touch $@
mldedup_combine = $(call mldedup_q,COMBINE,$(pkgout)) $(MLDEDUP) combine -q --store '$(MLDEDUP_STORE)' \
  --stamp $(@:.ran=) -o $(pkgout) $(sources) && touch $@
mldedup_verify = $(call mldedup_q,VERIFY,$(pkgout)) $(MLDEDUP) verify -q $(pkgout) $(sources) && touch $@

$(MLDEDUP_RULES):
	$(call mldedup_q,GEN,$@) MLDEDUP_STORE='$(MLDEDUP_STORE)' $(MLDEDUP) make -q --regenerate --anemll '$(MLDEDUP_EXPORT)' -o $@

include $(MLDEDUP_RULES)
# the includer's first target stays the default goal, not one of ours
.DEFAULT_GOAL := $(mldedup_goal)
