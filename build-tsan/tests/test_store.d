build-tsan/tests/test_store: tests/unit/test_store.c \
 tests/unit/../../server/store.c tests/unit/../../server/common.h \
 tests/unit/../../server/store.h tests/unit/../../server/crypto.h \
 tests/unit/../../server/order.h tests/unit/../../server/audit.h \
 /usr/include/cjson/cJSON.h tests/unit/../../server/log.h \
 tests/unit/../../server/crypto.h tests/unit/../../server/order.h \
 tests/unit/t.h
tests/unit/../../server/store.c:
tests/unit/../../server/common.h:
tests/unit/../../server/store.h:
tests/unit/../../server/crypto.h:
tests/unit/../../server/order.h:
tests/unit/../../server/audit.h:
/usr/include/cjson/cJSON.h:
tests/unit/../../server/log.h:
tests/unit/../../server/crypto.h:
tests/unit/../../server/order.h:
tests/unit/t.h:
