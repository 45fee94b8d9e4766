build-tsan/audit.o: server/audit.c server/common.h server/audit.h \
 server/store.h server/crypto.h server/order.h /usr/include/cjson/cJSON.h
server/common.h:
server/audit.h:
server/store.h:
server/crypto.h:
server/order.h:
/usr/include/cjson/cJSON.h:
