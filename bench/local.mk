# bench/: chat-bench (built by make, not installed) and `make bench` (issue 8).
# chat-bench stands alone: libc, pthreads and libcrypto (SHA-1 for the handshake check).
noinst_PROGRAMS += bench/chat-bench
bench_chat_bench_SOURCES = bench/chat_bench.c \
	bench/bench_ws.c bench/bench_ws.h \
	bench/bench_stats.c bench/bench_stats.h
bench_chat_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/bench
bench_chat_bench_LDADD = $(CRYPTO_LIBS) -lpthread -lm

EXTRA_DIST += bench/run-bench.mjs bench/run-bench.sh bench/callgrind-s1.sh bench/idle-rss.sh \
	bench/step.sh

# S5's SQLite baseline: built only by make bench (it needs the sqlite3 headers, which the
# daemons do not: they reach SQLite through apr_dbd).
EXTRA_PROGRAMS = bench/bench-sqlite-raw
bench_bench_sqlite_raw_SOURCES = bench/bench_sqlite_raw.c
bench_bench_sqlite_raw_LDADD = -lsqlite3
CLEANFILES += bench/bench-sqlite-raw

# make bench [BENCH_QUICK=1] [BENCH_SCENARIOS="S1 S3"]: builds the relay and the generator,
# runs the scenarios (relay on core 0, generator on core 1) and writes results/.
BENCH_RESULTS ?= $(abs_top_srcdir)/results
bench: bench/chat-bench relay/chat-relay restapi/chat-restapi bench/bench-sqlite-raw
	BENCH_BUILD_DIR="$(abs_top_builddir)" BENCH_SRC_DIR="$(abs_top_srcdir)" \
	BENCH_RESULTS="$(BENCH_RESULTS)" BENCH_QUICK="$(BENCH_QUICK)" \
	BENCH_SCENARIOS="$(BENCH_SCENARIOS)" \
	$(SHELL) $(top_srcdir)/bench/run-bench.sh
.PHONY: bench

# Unit tests of the codec and the statistics (Check), run by make check.
check_PROGRAMS += tests/unit/test_bench
tests_unit_test_bench_SOURCES = tests/unit/check_main.c tests/unit/check_main.h \
	tests/unit/bench/tcases_bench.c \
	tests/unit/bench/test_bench_ws.c \
	tests/unit/bench/test_bench_stats.c \
	bench/bench_ws.c bench/bench_ws.h \
	bench/bench_stats.c bench/bench_stats.h
tests_unit_test_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/bench
tests_unit_test_bench_CFLAGS = $(CHECK_TEST_CFLAGS)
tests_unit_test_bench_LDADD = $(CHECK_LIBS) $(APR_LIBS) $(CRYPTO_LIBS)
TESTS += tests/unit/test_bench
