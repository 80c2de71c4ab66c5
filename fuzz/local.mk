# fuzz/: libFuzzer harnesses (configure CC=clang --enable-fuzzing), their seed corpora and a
# short smoke run; and make check-valgrind, memcheck over every Check unit-test program
# (issue 9; docs/HARDENING.md says how to run each).

FUZZ_HARNESSES = fuzz/fuzz_msg fuzz/fuzz_token fuzz/fuzz_config fuzz/fuzz_dynamo \
	fuzz/fuzz_journal fuzz/fuzz_rest fuzz/fuzz_wsscan
FUZZ_CFLAGS = $(AM_CFLAGS) -Wno-missing-prototypes
FUZZ_LINK_FLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

if FUZZING
noinst_PROGRAMS += fuzz/fuzz_msg fuzz/fuzz_token fuzz/fuzz_config fuzz/fuzz_dynamo \
	fuzz/fuzz_journal fuzz/fuzz_rest fuzz/fuzz_wsscan
endif

fuzz_fuzz_msg_SOURCES = fuzz/fuzz_msg.c fuzz/fuzz_common.h
fuzz_fuzz_msg_CFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_msg_LDFLAGS = $(FUZZ_LINK_FLAGS)
fuzz_fuzz_msg_LDADD = $(CHAT_COMMON_LIBS)

fuzz_fuzz_token_SOURCES = fuzz/fuzz_token.c fuzz/fuzz_common.h
fuzz_fuzz_token_CFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_token_LDFLAGS = $(FUZZ_LINK_FLAGS)
fuzz_fuzz_token_LDADD = $(CHAT_COMMON_LIBS)

fuzz_fuzz_config_SOURCES = fuzz/fuzz_config.c fuzz/fuzz_common.h
fuzz_fuzz_config_CFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK_FLAGS)
fuzz_fuzz_config_LDADD = $(CHAT_COMMON_LIBS)

fuzz_fuzz_dynamo_SOURCES = fuzz/fuzz_dynamo.c fuzz/fuzz_common.h
fuzz_fuzz_dynamo_CFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_dynamo_LDFLAGS = $(FUZZ_LINK_FLAGS)
fuzz_fuzz_dynamo_LDADD = $(CHAT_COMMON_LIBS)

fuzz_fuzz_journal_SOURCES = fuzz/fuzz_journal.c fuzz/fuzz_common.h \
	relay/relay_journal.c relay/relay_journal.h
fuzz_fuzz_journal_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/relay
fuzz_fuzz_journal_CFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_journal_LDFLAGS = $(FUZZ_LINK_FLAGS)
fuzz_fuzz_journal_LDADD = $(CHAT_COMMON_LIBS) -lpthread

fuzz_fuzz_rest_SOURCES = fuzz/fuzz_rest.c fuzz/fuzz_common.h $(REST_SOURCES)
fuzz_fuzz_rest_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/restapi
fuzz_fuzz_rest_CFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_rest_LDFLAGS = $(FUZZ_LINK_FLAGS)
fuzz_fuzz_rest_LDADD = $(CHAT_COMMON_LIBS) -lpthread

fuzz_fuzz_wsscan_SOURCES = fuzz/fuzz_wsscan.c fuzz/fuzz_common.h \
	relay/relay_wsscan.c relay/relay_wsscan.h
fuzz_fuzz_wsscan_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/relay
fuzz_fuzz_wsscan_CFLAGS = $(FUZZ_CFLAGS)
fuzz_fuzz_wsscan_LDFLAGS = $(FUZZ_LINK_FLAGS)
fuzz_fuzz_wsscan_LDADD = $(CHAT_COMMON_LIBS)

EXTRA_DIST += fuzz/run-smoke.sh fuzz/corpus fuzz/dicts fuzz/valgrind.supp

# make fuzz-smoke [FUZZ_SECONDS=5]: each harness for a few seconds over its seed corpus.
fuzz-smoke:
if FUZZING
	$(MAKE) $(AM_MAKEFLAGS) $(FUZZ_HARNESSES)
	$(SHELL) $(top_srcdir)/fuzz/run-smoke.sh "$(abs_top_builddir)" $(FUZZ_SECONDS)
else
	@echo "fuzz-smoke: configure CC=clang --enable-fuzzing first" >&2; exit 1
endif

# make check-valgrind: every Check program of make check under memcheck, in one process
# (CK_FORK=no, so valgrind sees the tests themselves), in a build without sanitizers.
# A definite or indirect leak or any memory error fails the program.
VALGRIND_FLAGS = --leak-check=full --errors-for-leak-kinds=definite,indirect \
	--show-leak-kinds=definite,indirect --error-exitcode=97 --num-callers=40 \
	--suppressions=$(top_srcdir)/fuzz/valgrind.supp
VALGRIND_UNIT_TESTS = $(filter tests/unit/test_%,$(check_PROGRAMS))

check-valgrind: $(VALGRIND_UNIT_TESTS)
	@if test -n "$(SAN_CFLAGS)"; then \
	  echo "check-valgrind: needs a build without sanitizers (configure without --enable-*)" >&2; \
	  exit 1; fi
	@if test -z "$(VALGRIND)"; then \
	  echo "check-valgrind: valgrind not found (Debian: apt-get install valgrind)" >&2; exit 1; fi
	@failed=0; passed=0; \
	for p in $(VALGRIND_UNIT_TESTS); do \
	  log="$$p.valgrind.log"; \
	  if CK_FORK=no CK_VERBOSITY=normal $(LIBTOOL) --mode=execute $(VALGRIND) $(VALGRIND_FLAGS) \
	       --log-file="$$log" "./$$p" >"$$p.valgrind.out" 2>&1; then \
	    echo "VALGRIND PASS: $$p ($$(grep -E '^[0-9]+%: Checks' "$$p.valgrind.out"))"; \
	    passed=$$((passed + 1)); \
	  else \
	    echo "VALGRIND FAIL: $$p (see $$log and $$p.valgrind.out)"; \
	    grep -E '^[0-9]+%: Checks|ERROR SUMMARY|definitely lost|indirectly lost' \
	      "$$p.valgrind.out" "$$log" | sed 's/^/  /'; \
	    failed=$$((failed + 1)); \
	  fi; \
	done; \
	echo "check-valgrind: $$passed passed, $$failed failed"; \
	test $$failed -eq 0

CLEANFILES += tests/unit/*.valgrind.log tests/unit/*.valgrind.out
.PHONY: fuzz-smoke check-valgrind
