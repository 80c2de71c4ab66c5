# common/: one internal library the relay, the REST app, tools and tests link.
noinst_LTLIBRARIES += common/libchatcommon.la
common_libchatcommon_la_SOURCES = \
	common/chat_err.c common/chat_err.h common/chat_err.def \
	common/chat_msg.c common/chat_msg.h \
	common/chat_id.c common/chat_id.h \
	common/chat_token.c common/chat_token.h \
	common/chat_bucket.c common/chat_bucket.h \
	common/chat_config.c common/chat_config.h \
	common/chat_log.c common/chat_log.h \
	common/chat_sd.c common/chat_sd.h \
	common/chat_shm.c common/chat_shm.h common/chat_shm_counters.def \
	common/chat_store.c common/chat_store.h common/chat_store_private.h \
	common/chat_store_sqlite.c common/chat_store_dynamo.c
common_libchatcommon_la_LIBADD = $(APU_LIBS) $(APR_LIBS) $(JSONC_LIBS) $(CURL_LIBS) $(CRYPTO_LIBS) -lm

# What every program linking common needs.
CHAT_COMMON_LIBS = common/libchatcommon.la $(APU_LIBS) $(APR_LIBS) $(JSONC_LIBS) $(CURL_LIBS) \
	$(CRYPTO_LIBS) -lm
