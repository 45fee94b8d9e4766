build-tsan/tests/test_vnum: tests/unit/test_vnum.c server/common.h \
 server/crypto.h server/common.h server/limits.h server/log.h \
 server/store.h server/crypto.h server/order.h server/vnum.h \
 tests/unit/t.h
server/common.h:
server/crypto.h:
server/common.h:
server/limits.h:
server/log.h:
server/store.h:
server/crypto.h:
server/order.h:
server/vnum.h:
tests/unit/t.h:
