build-tsan/store.o: server/store.c server/common.h server/store.h \
 server/crypto.h server/order.h server/audit.h /usr/include/cjson/cJSON.h \
 server/log.h
server/common.h:
server/store.h:
server/crypto.h:
server/order.h:
server/audit.h:
/usr/include/cjson/cJSON.h:
server/log.h:
